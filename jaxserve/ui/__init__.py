"""jaxserve's web pages, built on webui's public API (`import webui as gr` only)."""
