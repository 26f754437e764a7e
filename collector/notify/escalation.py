"""Call and response: an alarm left unacknowledged is re-notified and escalated along a contact chain.

Tracking lives in the outbox database, so a restart neither forgets an unanswered alarm nor
restarts its clock. A re-notification is a new event with its own stable id (derived from the
original event and the step), so a receiver can tell it from, and de-duplicate it like, any other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from collector.notify.outbox import Outbox, PendingEscalation
from collector.notify.payload import rfc3339
from hazwatch.config.notify import Subscriber
from hazwatch.events import AlarmEvent, AlarmState, Transition

_STARTS = (Transition.RAISE, Transition.ESCALATE, Transition.RENOTIFY, Transition.UNSHELVE)


@dataclass(frozen=True, slots=True)
class Renotification:
    subscriber: Subscriber
    urls: list[str]
    payload: dict[str, object]


def renotify_event_id(original_event_id: str, step: int) -> str:
    return hashlib.sha256(f"{original_event_id}|renotify|{step}".encode()).hexdigest()[:32]


class EscalationTracker:
    def __init__(self, outbox: Outbox, subscribers: Sequence[Subscriber]) -> None:
        self.outbox = outbox
        self.subscribers = {s.name: s for s in subscribers if s.escalation is not None}

    def observe(self, event: AlarmEvent, payload: dict[str, object], told: Sequence[Subscriber], now_ns: int) -> None:
        """Start the clock when a subscriber is paged for an unacknowledged alarm; stop it when the alarm
        is no longer standing unacknowledged (acknowledged, cleared, shelved, out of service)."""
        if event.state is not AlarmState.UNACKNOWLEDGED:
            self.outbox.drop_escalations(event.slot, event.rule)
            return
        if event.transition not in _STARTS or not event.annunciate:
            return
        text = json.dumps(payload)
        for subscriber in told:
            if subscriber.name in self.subscribers:
                self.outbox.track_escalation(
                    PendingEscalation(subscriber.name, event.slot, event.rule, text, now_ns, 0)
                )

    def due(self, now_ns: int) -> list[Renotification]:
        out: list[Renotification] = []
        for item in self.outbox.escalations():
            subscriber = self.subscribers.get(item.subscriber)
            if subscriber is None or subscriber.escalation is None:
                continue
            if now_ns - item.since_ns < subscriber.escalation.after_minutes * 60e9:
                continue
            step = item.step + 1
            self.outbox.track_escalation(
                PendingEscalation(item.subscriber, item.slot, item.rule, item.payload, now_ns, step)
            )
            original = json.loads(item.payload)
            chain = subscriber.escalation.chain
            urls = [subscriber.url]
            if chain:
                urls.append(chain[min(step, len(chain)) - 1])
            payload = original | {
                "event_id": renotify_event_id(str(original["event_id"]), step),
                "transition": Transition.RENOTIFY.value,
                "time": rfc3339(now_ns),
                "extra": {
                    **dict(original.get("extra") or {}),
                    "original_event_id": original["event_id"],
                    "escalation_step": step,
                    "unacknowledged_since": original["time"],
                },
            }
            out.append(Renotification(subscriber, urls, payload))
        return out
