"""Replicas on Ray (`pip install 'jaxserve[ray]'`): N engines behind one OpenAI endpoint.

`router` picks a replica (prefix-aware or round-robin, under a load bound; pure Python),
`actors` runs each replica as a Ray actor, `app` is the front that forwards, retries and
relays, and `metrics` merges the replicas' Prometheus text. Only `actors` imports Ray.
"""
