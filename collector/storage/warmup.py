"""The readings a restarted worker missed between its last detector snapshot and its death, read back from
InfluxDB (through the one reader) so its windows continue where they were rather than from the snapshot's moment.

Every reading the worker stored was first detected, so replaying the stored ones newer than the snapshot
brings the detectors to where they were when the worker died (up to the last unflushed second).
"""

from __future__ import annotations

import math

import numpy as np

from collector.storage.query import InfluxQuery
from hazwatch.batch import ReadingBatch
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import InfluxSettings
from hazwatch.quality import Quality
from hazwatch.storage import schema


def readings_since(
    settings: InfluxSettings, registry: SensorRegistry, owned: np.ndarray, since_ns: int, timeout: float = 30.0
) -> ReadingBatch:
    """Stored readings of the owned slots newer than `since_ns`, in time order (empty if InfluxDB has none)."""
    query = (
        f'SELECT "value", "quality" FROM "{schema.READINGS}" WHERE time > {int(since_ns)} '
        'GROUP BY "site", "sensor"'
    )
    with InfluxQuery.for_settings(settings, timeout) as reader:
        found = reader.series(query)
    slots, times, values, qualities = [], [], [], []
    for series in found:
        slot = registry.slot(series["tags"]["site"], series["tags"]["sensor"])
        if slot is None or not owned[slot]:
            continue
        for time_ns, value, quality in series["values"]:
            slots.append(slot)
            times.append(time_ns)
            values.append(math.nan if value is None else value)
            qualities.append(Quality.GOOD if quality is None else quality)
    if not slots:
        return ReadingBatch.empty()
    return ReadingBatch.from_columns(slots, times, values, qualities).sorted_by_time()
