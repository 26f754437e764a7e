"""What a `hazwatch run` worker does with the readings it reads (docs/scaling.md).

- `standalone`: read the devices, detect, store and notify (one process does everything; the default).
- `edge`: read the devices near them and publish normalised reading batches to MQTT, nothing else: the
  detection, storage and paging happen in core workers, so the edge box stays small and needs no database.
- `core`: read the edges' batches from MQTT (only its partition's units), detect, store and notify.

`--publish-batches` makes a standalone worker publish its batches as well, e.g. to feed a second site's core.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from hazwatch.batch import ReadingBatch
from hazwatch.events import AlarmEvent

Role = Literal["standalone", "edge", "core"]
ROLES: tuple[Role, ...] = ("standalone", "edge", "core")


class NoDetection:
    """The edge's detector: readings pass through untouched to the batch forwarder."""

    def update(self, batch: ReadingBatch) -> list[AlarmEvent]:
        return []

    def tick(self, now_ns: int) -> list[AlarmEvent]:
        return []

    def refused(self, slots: np.ndarray, now_ns: int, cause: str) -> list[AlarmEvent]:
        """No alarms on an edge: its intake refusals are counted there (hazwatch_readings_refused_total) and the
        refused readings never reach the core, whose dead-man still sees a sensor go silent."""
        return []
