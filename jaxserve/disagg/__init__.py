"""Disaggregated serving: prefill and decode engines in their own processes, and a router."""
