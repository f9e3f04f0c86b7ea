"""The Llama-family model graph: config, RoPE, attention op, KV cache, forward."""
