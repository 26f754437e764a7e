"""Browser sessions for the console: random ids in an HttpOnly cookie, a CSRF token each, hard expiry.

Sessions live in memory: a restart signs everyone out, which is the safe direction. A session ends after
`idle_s` without a request or `max_s` after sign-in (a 12-hour shift), whichever comes first.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Session:
    user: str
    csrf: str
    started: float
    seen: float


class Sessions:
    def __init__(self, idle_s: float = 1800.0, max_s: float = 12.5 * 3600, clock: Callable[[], float] = time.monotonic):
        self.idle_s = idle_s
        self.max_s = max_s
        self.clock = clock
        self._sessions: dict[str, Session] = {}

    def start(self, user: str) -> tuple[str, Session]:
        self._expire()
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        session = Session(user=user, csrf=secrets.token_urlsafe(32), started=now, seen=now)
        self._sessions[session_id] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        """The live session for this id (touching it), or None when unknown or expired."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        now = self.clock()
        if session is None or now - session.seen > self.idle_s or now - session.started > self.max_s:
            self._sessions.pop(session_id, None)
            return None
        session.seen = now
        return session

    def end(self, session_id: str | None) -> None:
        if session_id:
            self._sessions.pop(session_id, None)

    def _expire(self) -> None:
        now = self.clock()
        for key, s in list(self._sessions.items()):
            if now - s.seen > self.idle_s or now - s.started > self.max_s:
                del self._sessions[key]


def tokens_match(expected: str | None, given: object) -> bool:
    """Constant-time check of a CSRF token from a form against the one the server issued."""
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


class LoginThrottle:
    """At most `attempts` failed sign-ins per `window_s` for one user name and for one client address."""

    def __init__(self, attempts: int = 5, window_s: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self.attempts = attempts
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, list[float]] = {}

    def blocked(self, *keys: str) -> bool:
        now = self.clock()
        return any(len(self._recent(key, now)) >= self.attempts for key in keys)

    def failed(self, *keys: str) -> None:
        now = self.clock()
        for key in keys:
            self._failures[key] = [*self._recent(key, now), now]

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> list[float]:
        return [t for t in self._failures.get(key, []) if now - t < self.window_s]
