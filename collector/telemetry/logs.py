"""Logging set-up and a rate-limited logger, so a flood of bad payloads cannot flood the log."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from hazwatch.credentials import redact

LOG_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


class RedactingFormatter(logging.Formatter):
    """Blanks secrets in the whole formatted line, tracebacks included: an exception text that quotes a
    URL with its password, or a library that logs its request headers, cannot leak them."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str = "INFO") -> None:
    """Key=value lines on stderr: structured enough to grep and parse, readable over SSH."""
    logging.basicConfig(level=level, format=LOG_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S%z")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(LOG_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S%z"))
    # One line per HTTP request would bury the events that matter.
    logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass
class RateLimitedLog:
    """Logs the first message for a key, then at most one per `interval` seconds with the count suppressed."""

    logger: logging.Logger
    interval: float = 10.0
    _last: dict[str, float] = field(default_factory=dict)
    _suppressed: dict[str, int] = field(default_factory=dict)

    def warning(self, key: str, message: str, *args: object) -> None:
        self._log(logging.WARNING, key, message, *args)

    def error(self, key: str, message: str, *args: object) -> None:
        self._log(logging.ERROR, key, message, *args)

    def _log(self, level: int, key: str, message: str, *args: object) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        self._last[key] = now
        suppressed = self._suppressed.pop(key, 0)
        if suppressed:
            message = f"{message} ({suppressed} similar suppressed)"
        self.logger.log(level, message, *args)
