"""How every InfluxDB client of hazwatch authenticates and verifies the server: the sink's writers, the
status view, reports and the alarm KPI commands.

InfluxDB 1.x takes a user and password (HTTP basic auth, never `u=`/`p=` query parameters, which end
up in URLs and so in error messages); 2.x/3.x take a token (`Authorization: Token ...`). Secrets come
from the environment variables the config names or from files; HTTPS to a private CA uses `ca_file`.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx

from hazwatch.config.schema import InfluxSettings
from hazwatch.credentials import read_secret
from hazwatch.tls import TlsFiles


@dataclass(frozen=True)
class InfluxCredentials:
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    @classmethod
    def from_settings(cls, settings: InfluxSettings) -> InfluxCredentials:
        username = os.environ.get(settings.username_env or "", "") or None
        password = read_secret(settings.password_env, settings.password_file) if username else None
        token = read_secret(settings.token_env, settings.token_file)
        return cls(username, password, token, settings.ca_file)

    def verify(self) -> ssl.SSLContext | bool:
        return TlsFiles(self.ca_file).context() if self.ca_file else True

    def httpx_options(self) -> dict[str, Any]:
        """auth/headers/verify for an httpx client: user and password when a user is set, else the token."""
        options: dict[str, Any] = {"verify": self.verify()}
        if self.username:
            options["auth"] = httpx.BasicAuth(self.username, self.password or "")
        elif self.token:
            options["headers"] = {"Authorization": f"Token {self.token}"}
        return options
