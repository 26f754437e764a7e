"""A real webhook receiver for tests: an HTTP server in a thread that records and verifies every delivery."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from collector.app.localservices import free_port
from collector.notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


@dataclass
class WebhookDelivery:
    received_ns: int
    payload: dict
    signature_valid: bool


@dataclass
class ThreadedReceiver:
    """A real HTTP receiver on a free port, answering 204 and recording every delivery."""

    secret: bytes
    port: int = field(default_factory=free_port)
    deliveries: list[WebhookDelivery] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hazwatch"

    def serve(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received = time.time_ns()
                valid = verify(
                    receiver.secret,
                    self.headers.get(TIMESTAMP_HEADER, ""),
                    self.headers.get(SIGNATURE_HEADER, ""),
                    body,
                )
                receiver.deliveries.append(WebhookDelivery(received, json.loads(body), valid))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


