"""`gr.NO_RELOAD`: Gradio marks code that its reload mode (`gradio app.py`) must not re-run with
`if gr.NO_RELOAD:`. webui has no reload mode, every run is a first run, so it is always True."""

NO_RELOAD = True
