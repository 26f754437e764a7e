"""The intake check every batch passes before detection and storage: no reading outside the time window.

Why here: the window is judged against the collector's clock, which detectors (pure, no I/O) do not
have, and the same rows must be kept from the detectors and from every sink at once. A refused row
never becomes a sensor's newest reading anywhere: not in the detectors' late-reading check, not in
InfluxDB (`last(value)`), not in the status view. Each refusal is counted per reason and its slots are
handed to the detector, whose health.clock rule turns a run of them into a sensor-health alarm.
Non-finite and absurdly large GOOD values are refused here too, whatever source produced them: a GOOD
reading is a number a sensor could report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from hazwatch.batch import ReadingBatch
from hazwatch.config.intake import IntakeSettings
from hazwatch.quality import Quality

log = RateLimitedLog(logging.getLogger("hazwatch.intake"))

FUTURE = "future_time"
PAST = "past_time"
NON_FINITE = "non_finite"
IMPLAUSIBLE = "implausible"

MAX_ABS_VALUE = 1e12
"""No gas, temperature, pressure, level or flow sensor reads beyond this in any unit hazwatch uses; a GOOD value
past it (a device sending 1e308) is garbage, and would overflow the detectors' running sums into inf/NaN."""


@dataclass(frozen=True, slots=True)
class Screened:
    accepted: ReadingBatch
    clock_refused: np.ndarray
    """Slot of every row refused for its timestamp (repeats kept: one entry per reading)."""


class IntakeCheck:
    def __init__(self, settings: IntakeSettings, labels: Sequence[str] | None = None) -> None:
        self.max_future_ns = int(settings.max_future_s * 1e9)
        self.max_past_ns = int(settings.max_past_s * 1e9)
        self.labels = labels

    def screen(self, batch: ReadingBatch, now_ns: int) -> Screened:
        time = batch.time_ns
        future = time > now_ns + self.max_future_ns
        past = time < now_ns - self.max_past_ns
        good = batch.quality == Quality.GOOD
        non_finite = good & ~np.isfinite(batch.value)
        with np.errstate(invalid="ignore"):
            implausible = good & (np.abs(batch.value) > MAX_ABS_VALUE)
        if not (future.any() or past.any() or non_finite.any() or implausible.any()):
            return Screened(batch, np.empty(0, dtype=np.int64))
        for reason, rows in ((FUTURE, future), (PAST, past), (NON_FINITE, non_finite), (IMPLAUSIBLE, implausible)):
            if rows.any():
                self._count(reason, batch, rows, now_ns)
        off_clock = future | past
        refused = off_clock | non_finite | implausible
        return Screened(batch.take(~refused), batch.slot[off_clock].astype(np.int64))

    def _count(self, reason: str, batch: ReadingBatch, rows: np.ndarray, now_ns: int) -> None:
        n = int(rows.sum())
        metrics.READINGS_REFUSED.labels(reason).inc(n)
        first = int(np.flatnonzero(rows)[0])
        slot = int(batch.slot[first])
        sensor = self.labels[slot] if self.labels is not None and 0 <= slot < len(self.labels) else f"slot {slot}"
        log.warning(
            f"{reason}:{slot}",
            "%d readings refused (%s), e.g. %s stamped %+.0f s from now",
            n,
            reason,
            sensor,
            (int(batch.time_ns[first]) - now_ns) / 1e9,
        )
