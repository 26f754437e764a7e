"""Webhook signatures: `X-Hazwatch-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.

The timestamp is inside the signed text so a receiver can refuse a captured request replayed
later; the body is signed as raw bytes so no JSON re-serialisation can break verification.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

from hazwatch.config.notify import Subscriber, WebhookSettings
from hazwatch.credentials import read_secret

TIMESTAMP_HEADER = "X-Hazwatch-Timestamp"
SIGNATURE_HEADER = "X-Hazwatch-Signature"
EVENT_ID_HEADER = "X-Hazwatch-Event-Id"


class MissingSecret(RuntimeError):
    """Webhooks are configured but no signing secret is set: refuse to send unsigned alarms."""


def load_secret(settings: WebhookSettings) -> bytes:
    """The secret from the environment variable, else from `secret_file` (surrounding whitespace stripped)."""
    value = read_secret(settings.secret_env, settings.secret_file)
    if value:
        return value.encode()
    raise MissingSecret(
        f"webhook subscribers are configured but no secret is set: export {settings.secret_env} "
        "or set webhooks.secret_file"
    )


def has_own_secret(subscriber: Subscriber) -> bool:
    return bool(subscriber.secret_env or subscriber.secret_file)


def subscriber_secrets(settings: WebhookSettings, subscribers: Sequence[Subscriber]) -> dict[str, bytes]:
    """Each subscriber's signing secret: its own (`secret_env` / `secret_file`) so that no receiver can forge
    alarms to another, else the global one. A subscriber that names its own secret but finds none is refused
    rather than signed with the global secret the others share."""
    secrets: dict[str, bytes] = {}
    shared: bytes | None = None
    for subscriber in subscribers:
        if has_own_secret(subscriber):
            value = read_secret(subscriber.secret_env, subscriber.secret_file)
            if not value:
                source = f"${subscriber.secret_env}" if subscriber.secret_env else subscriber.secret_file
                raise MissingSecret(f"webhook subscriber {subscriber.name!r}: its secret {source} is not set")
            secrets[subscriber.name] = value.encode()
        else:
            shared = shared if shared is not None else load_secret(settings)
            secrets[subscriber.name] = shared
    return secrets


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: bytes, body: bytes, event_id: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers for one delivery attempt; the timestamp is the attempt's, so retries pass a replay window."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: sign(secret, ts, body),
        EVENT_ID_HEADER: event_id,
    }


def verify(
    secret: bytes,
    timestamp: str,
    signature: str,
    body: bytes,
    tolerance_s: float = 300.0,
    now: float | None = None,
) -> bool:
    """Receiver side: signature matches and the timestamp is within `tolerance_s` of now."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)
