"""Alarms that change worker with their sensor, read back from the alarm events in InfluxDB.

When N changes (`--partition K/N`), some units move to another worker. Their active alarms were in the old
worker's alarm store, on another machine perhaps; the one place every worker shares is the database. Each stored
alarm event carries the alarm's lifecycle state after it (`resume`), so the new owner takes the alarm over as it
was (acknowledged or not, latched, its level, its sequence of event ids) instead of raising it again with a new id
once its detectors see the condition. The old owner lets go of it (`AlarmLifecycle.release`) without an event.

The detectors' windows (STEL averages, rates of rise, on-delays) are rebuilt from the stored readings
(`TakeOverReplay`): the new owner has no snapshot for its new partition, and without them a STEL alarm whose
15-minute average began under the old owner would come late.
"""

from __future__ import annotations

import dataclasses
import json
import logging

import httpx
import numpy as np

from collector.storage.query import InfluxQuery
from detectors.alarms.conditions import ConditionChange
from detectors.alarms.lifecycle import AlarmLifecycle
from detectors.engine.stack import DetectorStack, Lifecycle
from hazwatch.batch import ReadingBatch
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import InfluxSettings
from hazwatch.events import AlarmEvent
from hazwatch.storage import schema

log = logging.getLogger(__name__)

HORIZON_S = 30 * 86400
"""How far back the last event of an alarm is looked for: an alarm standing longer than this is raised anew."""


def stored_alarms(
    settings: InfluxSettings, registry: SensorRegistry, owned: np.ndarray, timeout: float = 10.0
) -> list[dict[str, object]]:
    """The lifecycle state stored with the last event of every (sensor, rule) on an owned slot, slots mapped to
    this registry; an alarm whose last event carries no state (written by an older hazwatch) is left out."""
    query = (
        f'SELECT "resume", "event_id" FROM "{schema.ALARMS}" WHERE time > now() - {HORIZON_S}s '
        'GROUP BY "site", "sensor", "rule" ORDER BY time DESC LIMIT 1'
    )
    with InfluxQuery.for_settings(settings, timeout) as reader:
        found = reader.series(query)
    rows = []
    for series in found:
        slot = registry.slot(series["tags"]["site"], series["tags"]["sensor"])
        resume = series["values"][0][1]
        if slot is None or not owned[slot] or not resume:
            continue
        row = json.loads(resume)
        row["slot"] = slot
        rows.append(row)
    return rows


def take_over(lifecycle: AlarmLifecycle, settings: InfluxSettings, registry: SensorRegistry, owned: np.ndarray) -> int:
    """Adopt the stored active alarms of owned slots this worker does not hold; returns how many. Unreachable
    storage costs only the hand-over: a condition that still stands is raised again by the detectors."""
    try:
        taken = lifecycle.adopt(stored_alarms(settings, registry, owned))
    except (httpx.HTTPError, RuntimeError, ValueError, KeyError, TypeError) as error:
        log.warning("active alarms of sensors new to this worker not taken over (%s): raised again if standing", error)
        return 0
    if taken:
        log.info("took over %d active alarms of sensors new to this worker from the stored alarm events", taken)
    return taken


class _LastChanges:
    """Stands in for the lifecycle during the replay: keeps each condition's last change and announces nothing."""

    def __init__(self) -> None:
        self.last: dict[tuple[int, str], ConditionChange] = {}

    def apply(self, changes: list[ConditionChange], now_ns: int) -> list[AlarmEvent]:
        for change in changes:
            self.last[(change.slot, change.rule)] = change
        return []

    def tick(self, now_ns: int) -> list[AlarmEvent]:
        return []


class TakeOverReplay:
    """Replays stored readings into a fresh detector stack without announcing what they raise: the old owner
    announced it, and its alarms were adopted (`take_over`). `finish` then hands every condition still standing
    to the real lifecycle as of now, so that the detectors and the alarms agree: an adopted alarm at that level is
    confirmed without an event (and the restart check, which clears restored alarms the detectors do not report,
    sees it reported, if it was built before `finish`, as a worker builds it), one at another level moves to it,
    and one with no adopted alarm is raised."""

    def __init__(self, stack: DetectorStack) -> None:
        self.stack = stack
        self._lifecycle: Lifecycle = stack.lifecycle
        self._changes = _LastChanges()

    def update(self, batch: ReadingBatch) -> None:
        self.stack.lifecycle = self._changes
        try:
            self.stack.update(batch)
        finally:
            self.stack.lifecycle = self._lifecycle

    def finish(self, now_ns: int) -> list[AlarmEvent]:
        standing = [dataclasses.replace(c, time_ns=now_ns) for c in self._changes.last.values() if c.level > 0]
        return self._lifecycle.apply(standing, now_ns)
