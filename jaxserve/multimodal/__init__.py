"""Images in prompts: decoding, preprocessing, placeholder runs and the encoders' wiring."""
