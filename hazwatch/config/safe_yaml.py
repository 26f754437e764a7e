"""YAML with limits: a config file is refused, fast and with a reason, before it can exhaust the machine.

`yaml.safe_load` builds Python objects only, but it shares the object behind an alias, so a few hundred
bytes of nested aliases (an "alias bomb") expand to billions of nodes when anything walks the result:
validation hangs. Deep nesting overflows the parser's recursion. Here the node graph is composed first,
counting aliases and depth as it goes, its expanded size is measured without expanding it (each node's
size once, memoised), and only then are Python objects built.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 16 << 20
"""A province's biggest site file is a few MB; anything larger is not a config."""
MAX_DEPTH = 64
"""The schema nests about ten levels deep."""
MAX_ALIASES = 1000
"""Anchors are for sharing a limits block or two, not thousands."""
MAX_NODES = 2_000_000
"""Nodes after every alias is expanded: what validation will walk (tens of thousands of sensors fit)."""


class YamlRefused(ValueError):
    """The document breaks one of the limits; the message says which and by how much."""


class _LimitedLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise YamlRefused(f"more than {MAX_ALIASES} aliases (*name): refused as a possible alias bomb")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise YamlRefused(f"nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def expanded_size(root: yaml.Node) -> int:
    """How many nodes the document has once every alias is expanded; raises on a recursive alias."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            size[key] = min(1 + sum(size[id(c)] for c in children), MAX_NODES + 1)
            continue
        if key in size:
            continue
        if key in on_path:
            raise YamlRefused("an alias refers to a node that contains it (a recursive structure)")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in size)
    return size[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load(text: str) -> Any:
    """The document's Python value, or YamlRefused / yaml.YAMLError."""
    if len(text) > MAX_BYTES:
        raise YamlRefused(f"larger than {MAX_BYTES >> 20} MiB")
    loader = _LimitedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        nodes = expanded_size(node)
        if nodes > MAX_NODES:
            raise YamlRefused(f"more than {MAX_NODES:,} nodes once aliases are expanded: refused as an alias bomb")
        return loader.construct_document(node)
    finally:
        loader.dispose()
