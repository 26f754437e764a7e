"""A throw-away certificate authority made with the `openssl` command, as a site would make its own.

One CA signs a server certificate for 127.0.0.1 / localhost (mosquitto, influxd, HTTPS receivers)
and a client certificate (for brokers with `require_certificate true`). A second, unrelated CA
signs nothing we trust: tests use it to show that a server of another CA is refused.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from collector.app.localservices import ServerTls

_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


@dataclass(frozen=True)
class Pki:
    directory: Path
    ca_file: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_file: Path

    @property
    def server(self) -> ServerTls:
        return ServerTls(self.ca_file, self.server_cert, self.server_key)


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    _openssl("req", "-x509", *_KEY, "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}", cwd=directory)
    return cert, key


def _signed(directory: Path, name: str, ca: tuple[Path, Path], extensions: str) -> tuple[Path, Path]:
    cert, key, request, ext = (directory / f"{name}{suffix}" for suffix in (".crt", ".key", ".csr", ".ext"))
    ext.write_text(extensions)
    _openssl("req", "-new", *_KEY, "-keyout", key, "-out", request, "-subj", f"/CN={name}", cwd=directory)
    _openssl(
        "x509", "-req", "-in", request, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext, cwd=directory,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key


def make_pki(directory: Path) -> Pki:
    """A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and an unrelated CA."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _ca(directory, "hazwatch-test-ca")
    other_ca, _ = _ca(directory, "unrelated-ca")
    server = _signed(
        directory,
        "server",
        ca,
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n",
    )
    client = _signed(directory, "hazwatch-client", ca, "extendedKeyUsage = clientAuth\n")
    # Servers run as this user and must read their key; the test's temporary folder is private anyway.
    server[1].chmod(0o644)
    return Pki(directory, ca[0], server[0], server[1], client[0], client[1], other_ca)
