"""One way to build the client TLS context of every link (MQTT, InfluxDB, webhooks).

A private CA is the usual case on a plant network: naming a CA file means "trust this CA only",
not "this CA and every public one"; without one the system store is used. A client certificate
and key are loaded for servers that require one (mosquitto `require_certificate true`). Hostname
checking stays on: a certificate for another host is refused.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def context(self) -> ssl.SSLContext:
        """A verifying client context; raises OSError/ssl.SSLError naming the file that cannot be loaded."""
        if self.ca_file:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file)
        else:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context
