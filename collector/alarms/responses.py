"""Response links: a signed, expiring, single-use token per paging event, so the person paged can answer.

A token is `<base64url JSON claim>.<base64url HMAC-SHA256(secret, claim part)>`. The claim names the
alarm (site, sensor, rule), the event that paged, a random token id and the expiry; nothing secret is
in it, and nothing in it can be changed without breaking the signature. Single use is enforced by the
alarm store (the token id is claimed in the same database as the audit trail), not by the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from collector.notify.signing import MissingSecret
from hazwatch.config.channels import ResponseSettings
from hazwatch.events import AlarmState, Transition

PAGING = (Transition.RAISE, Transition.ESCALATE, Transition.RENOTIFY, Transition.UNSHELVE)
ANSWERS = ("ack", "handled")


class MissingResponseSecret(MissingSecret):
    """Response links are configured (public_url) but no secret to sign them is set."""


class InvalidToken(ValueError):
    """The link is not one hazwatch issued, or it has expired; `reason` says which, for the page."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ResponseClaim:
    token_id: str
    event_id: str
    site: str
    sensor: str
    rule: str
    expires_ns: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_response_secret(settings: ResponseSettings) -> bytes:
    value = os.environ.get(settings.secret_env, "")
    if not value and settings.secret_file:
        value = Path(settings.secret_file).read_text().strip()
    if not value:
        raise MissingResponseSecret(
            f"webhooks.responses.public_url is set but no secret signs the links: export {settings.secret_env} "
            "or set webhooks.responses.secret_file"
        )
    return value.encode()


class ResponseLinks:
    """Issues and reads response tokens; `link_for` is what the notifier calls for each payload."""

    def __init__(
        self,
        secret: bytes,
        public_url: str,
        valid_minutes: float = 24 * 60.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        if not secret:
            raise MissingResponseSecret("response links need a non-empty secret")
        self._secret = secret
        self.public_url = public_url.rstrip("/")
        self.valid_ns = int(valid_minutes * 60e9)
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: ResponseSettings) -> ResponseLinks | None:
        if not settings.public_url:
            return None
        return cls(load_response_secret(settings), settings.public_url, settings.valid_minutes)

    def issue(self, event_id: str, site: str, sensor: str, rule: str) -> str:
        claim = {
            "t": secrets.token_hex(8),
            "e": event_id,
            "s": site,
            "n": sensor,
            "r": rule,
            "x": self.clock() + self.valid_ns,
        }
        body = _b64(json.dumps(claim, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{body}.{self._sign(body)}"

    def link_for(self, payload: dict[str, object]) -> str | None:
        """A link for events that page someone about a standing, unacknowledged alarm; None for the rest."""
        paging = payload.get("transition") in {t.value for t in PAGING}
        if not paging or payload.get("state") != AlarmState.UNACKNOWLEDGED.value:
            return None
        site, sensor, rule = str(payload["site"]), str(payload["sensor"]), str(payload["rule"])
        return self.url_for(str(payload["event_id"]), site, sensor, rule)

    def url_for(self, paged_by: str, site: str, sensor: str, rule: str) -> str:
        """`paged_by`: the event id (or, for Alertmanager, the alert) the answer will be recorded against."""
        return f"{self.public_url}/respond/{self.issue(paged_by, site, sensor, rule)}"

    def read(self, token: str) -> ResponseClaim:
        body, _, signature = token.partition(".")
        if not body or not signature or not hmac.compare_digest(self._sign(body), signature):
            raise InvalidToken("invalid", "this link was not issued by hazwatch or has been altered")
        try:
            claim = json.loads(_unb64(body))
            parsed = ResponseClaim(
                str(claim["t"]), str(claim["e"]), str(claim["s"]), str(claim["n"]), str(claim["r"]), int(claim["x"])
            )
        except (ValueError, KeyError, TypeError):
            raise InvalidToken("invalid", "this link is damaged") from None
        if self.clock() > parsed.expires_ns:
            raise InvalidToken("expired", "this link has expired")
        return parsed

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())
