"""`tapwell serve`: scheduler, JSON API, live logs and Prometheus metrics over the history store.

Its web-facing modules import the `[serve]` extra (Starlette, uvicorn, croniter,
prometheus_client); `live` (the log and figures every `tapwell run` writes) and `push` need
none of it at import time.
"""
