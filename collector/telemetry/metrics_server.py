"""Prometheus `/metrics` for hazwatch itself (collector/telemetry/metrics.py), and `/healthz` / `/readyz`.

A WSGI server in its own daemon thread: scraping and probing never touch the asyncio loop that
detects alarms, so a slow or hostile scraper cannot delay an alarm.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from collector.telemetry.health import Health

Probe = Callable[[], tuple[bool, str]]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """A probe every few seconds would bury the log lines that matter."""


def _app(health: Health | None) -> Callable:
    metrics_app = make_wsgi_app()
    probes: dict[str, Probe] = {"/healthz": health.live, "/readyz": health.ready} if health else {}

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        probe = probes.get(environ.get("PATH_INFO", ""))
        if probe is None:
            return metrics_app(environ, start_response)
        ok, why = probe()
        start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8")])
        return [f"{'ok' if ok else 'not ok'}: {why}\n".encode()]

    return app


def serve_metrics(port: int, address: str = "127.0.0.1", health: Health | None = None) -> WSGIServer:
    """Serve /metrics (and /healthz, /readyz with `health`) on address:port; `.shutdown()` the result to stop."""
    server = make_server(address, port, _app(health), ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server
