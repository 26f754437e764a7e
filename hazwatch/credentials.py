"""Secrets: read from the environment or a file, checked for strength, and never written to a log.

Every secret hazwatch reads goes through `read_secret`, which remembers the value so that `redact`
can blank it wherever it shows up later (an exception text, a URL, a config dump). `redact` is the
one helper every logger and printer uses: it also blanks the password of any `scheme://user:pass@`
URL and credential query parameters (`p=`, `password=`, `token=`), so a secret given on a command
line is not echoed back either.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
from pathlib import Path

log = logging.getLogger("hazwatch.credentials")

MASK = "***"
MIN_SECRET_LENGTH = 16
"""Webhook signing secrets and the operator API token: shorter ones can be guessed offline from one signature."""
PLACEHOLDERS = frozenset({"change-me", "changeme", "secret", "password", "example"})
"""Values shipped in examples and templates; a deployment that still has one is not configured."""

_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)(?P<password>[^\s@/]*)(?=@)")
_QUERY_SECRET = re.compile(r"(?P<head>[?&](?:p|password|token|secret|access_token)=)(?P<value>[^&\s#'\"]*)", re.I)
_AUTH_HEADER = re.compile(r"(?P<head>\b(?:Token|Bearer|Basic)\s+)(?P<value>[A-Za-z0-9+/=._~-]{8,})")

_known: set[str] = set()
_lock = threading.Lock()


class SecretProblem(ValueError):
    """A secret is set but unusable (too short, the shipped placeholder): refuse to start, naming the field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def remember(secret: str) -> None:
    """From now on `redact` blanks this value wherever it appears (values under 4 characters would blank noise)."""
    if len(secret) >= 4:
        with _lock:
            _known.add(secret)


def redact(text: str) -> str:
    """`text` with URL passwords, credential query parameters, auth headers and every known secret blanked."""
    text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK, text)
    text = _QUERY_SECRET.sub(lambda m: m["head"] + MASK, text)
    text = _AUTH_HEADER.sub(lambda m: m["head"] + MASK, text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def read_secret(env: str | None, file: str | Path | None) -> str | None:
    """The secret from environment variable `env`, else the first line of `file` (stripped); None when neither is set.

    A file others may read is used but warned about: on a shared host it is not a secret.
    """
    value = os.environ.get(env, "") if env else ""
    if not value and file:
        path = Path(file)
        try:
            mode = path.stat().st_mode
            value = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretProblem(str(path), f"secret file cannot be read ({exc})") from None
        if mode & stat.S_IROTH:
            log.warning("secret file %s is readable by every user on this host: chmod 600 it", path)
    if not value:
        return None
    remember(value)
    return value


def check_strength(value: str, field: str, min_length: int = MIN_SECRET_LENGTH) -> None:
    """Raise SecretProblem for a placeholder or a secret shorter than `min_length` characters."""
    if value.strip().lower() in PLACEHOLDERS:
        raise SecretProblem(field, f"is the shipped placeholder {value!r}; set a random secret (openssl rand -hex 32)")
    if len(value) < min_length:
        raise SecretProblem(field, f"is {len(value)} characters long; at least {min_length} are required")
