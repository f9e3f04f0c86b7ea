"""Vision encoders of vision-language models, as pure functions over params pytrees."""
