"""Which subscriber gets which event: a safety bureau wants power-cuts, operators want everything."""

from __future__ import annotations

from fnmatch import fnmatchcase

from hazwatch.config.notify import Subscriber, SubscriberFilter


def filter_matches(rule: SubscriberFilter, payload: dict[str, object]) -> bool:
    """Every set criterion must hold; `min_level` looks at the highest level the alarm reached in this
    episode, so a subscriber that got a power-cut also gets its de-escalation, clear and reset."""
    level = max(int(payload["level"]), int(payload.get("peak_level") or 0))
    checks = (
        not rule.sites or payload["site"] in rule.sites,
        level >= rule.min_level,
        not rule.kinds or payload["kind"] in rule.kinds,
        not rule.categories or payload["category"] in rule.categories,
        not rule.transitions or payload["transition"] in rule.transitions,
        not rule.states or payload["state"] in rule.states,
        not rule.rules or any(fnmatchcase(str(payload["rule"]), pattern) for pattern in rule.rules),
    )
    return all(checks)


def subscriber_wants(subscriber: Subscriber, payload: dict[str, object]) -> bool:
    """A list of filters is a union: the event is sent when any one of them matches."""
    rules = subscriber.filter if isinstance(subscriber.filter, list) else [subscriber.filter]
    return any(filter_matches(rule, payload) for rule in rules)
