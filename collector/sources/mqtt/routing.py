"""From a received topic to the configured topic (route) that owns it, for every site on one broker.

A province has thousands of sites, each with its own topic patterns, all on one connection. Scanning
every pattern's regex per message would cost more than decoding it, so routes sit in a trie keyed by
topic level (`+` for a level holding a named segment): a lookup walks the topic's few levels and
tries only the regexes of the patterns whose filter fits. When several patterns fit one topic, the
first in config order wins, as the config reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from collector.sources.mqtt.payloads import PayloadDecoder
from collector.sources.mqtt.topics import TopicBinding, TopicMatch


@dataclass(frozen=True)
class Route:
    binding: TopicBinding
    decoder: PayloadDecoder


@dataclass
class _Level:
    children: dict[str, _Level] = field(default_factory=dict)
    routes: list[tuple[int, Route]] = field(default_factory=list)
    """(config order, route) of the patterns whose filter ends at this level."""


class RouteTable:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)
        self._root = _Level()
        for order, route in enumerate(self.routes):
            level = self._root
            for part in route.binding.subscription.split("/"):
                level = level.children.setdefault(part, _Level())
            level.routes.append((order, route))

    def __len__(self) -> int:
        return len(self.routes)

    def find(self, topic: str) -> tuple[Route, TopicMatch] | None:
        """The first route (config order) whose pattern matches `topic`, with the match; None if none does."""
        candidates: list[tuple[int, Route]] = []
        self._collect(self._root, topic.split("/"), 0, candidates)
        if len(candidates) > 1:
            candidates.sort(key=lambda candidate: candidate[0])
        for _, route in candidates:
            match = route.binding.match(topic)
            if match is not None:
                return route, match
        return None

    def _collect(self, level: _Level, parts: list[str], depth: int, out: list[tuple[int, Route]]) -> None:
        if depth == len(parts):
            out.extend(level.routes)
            return
        exact = level.children.get(parts[depth])
        if exact is not None:
            self._collect(exact, parts, depth + 1, out)
        wildcard = level.children.get("+")
        if wildcard is not None and wildcard is not exact:
            self._collect(wildcard, parts, depth + 1, out)
