"""Prometheus `/metrics` for hazwatch itself: ingest, drops, backlogs, detector timing (collector/telemetry/metrics.py).

prometheus_client's own threaded server: scraping never touches the asyncio loop that
detects alarms, so a slow or hostile scraper cannot delay an alarm.
"""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server


def serve_metrics(port: int, address: str = "127.0.0.1") -> WSGIServer:
    """Serve /metrics on address:port in a daemon thread; call `.shutdown()` on the result to stop."""
    server, _thread = start_http_server(port, addr=address)
    return server
