"""The same alarm rules written the straightforward way: one Python loop iteration per reading.

This is what a first implementation looks like — per-sensor state in lists, a loop over each
batch's rows — and it is the yardstick for the vectorised stack. It covers the rules the stack
runs for a mine (multi-level thresholds with deadband, on-delay and latch; 15-min STEL and 8-h
TWA on per-minute buckets for toxic gases; rate of rise over a minute for gases; range, stuck and
offline health; a raise/clear lifecycle with an event per change) but none of the stack's extras
(forecast, drift, spikes, suppression, shelving), so the speed-up it yields is conservative.
"""

from __future__ import annotations

from collections import deque

from hazwatch.batch import ReadingBatch
from hazwatch.config.defaults import EXPOSURE_LIMITS_PPM
from hazwatch.config.kinds import SensorKind
from hazwatch.config.registry import SensorRegistry
from hazwatch.quality import Quality

MINUTE_NS = 60_000_000_000
STUCK_AFTER_NS = 30 * MINUTE_NS
RATE_WINDOW_NS = MINUTE_NS
RATE_LIMIT_PER_MIN = {SensorKind.CH4: 0.2, SensorKind.CO: 5.0, SensorKind.H2S: 2.0}
GOOD = int(Quality.GOOD)


class _Level:
    __slots__ = ("latch", "level", "limit", "on_ns", "reset", "sign")

    def __init__(self, level: int, limit: float, reset: float, on_ns: int, latch: bool, sign: float) -> None:
        self.level, self.limit, self.reset, self.on_ns, self.latch, self.sign = level, limit, reset, on_ns, latch, sign


class PerReadingRules:
    """`update(batch)` returns event dicts (rule, slot, level, value, time) for every level change."""

    def __init__(self, registry: SensorRegistry) -> None:
        n = len(registry)
        self.levels: list[list[_Level]] = []
        self.range = [(s.range_min, s.range_max) for s in registry]
        self.offline_ns = [int(3 * s.poll_interval * 1e9) for s in registry]
        self.exposure = [EXPOSURE_LIMITS_PPM.get(s.kind) for s in registry]
        self.rate_limit = [RATE_LIMIT_PER_MIN.get(s.kind) for s in registry]
        for s in registry:
            levels = [
                _Level(lv.level, lv.value, lv.reset_value, int(lv.on_delay * 1e9), lv.latch, 1.0)
                for lv in s.limits.high
            ]
            levels += [
                _Level(lv.level, -lv.value, -lv.reset_value, int(lv.on_delay * 1e9), lv.latch, -1.0)
                for lv in s.limits.low
            ]
            self.levels.append(levels)
        self.raw = [[False] * len(levels) for levels in self.levels]
        self.since = [[0] * len(levels) for levels in self.levels]
        self.active = [[False] * len(levels) for levels in self.levels]
        self.alarm = [0] * n
        self.last_time = [0] * n
        self.last_value = [float("nan")] * n
        self.flat_since = [0] * n
        self.health: list[set[str]] = [set() for _ in range(n)]
        self.minute = [0] * n
        self.minute_sum = [0.0] * n
        self.minute_count = [0] * n
        self.minutes: list[deque[float] | None] = [deque(maxlen=480) if e else None for e in self.exposure]
        self.exposed = [0] * n
        self.recent: list[deque[tuple[int, float]] | None] = [deque() if r else None for r in self.rate_limit]
        self.rising = [False] * n
        self.latched = [False] * n

    def update(self, batch: ReadingBatch) -> list[dict]:
        events: list[dict] = []
        for slot, t, v, q in zip(
            batch.slot.tolist(), batch.time_ns.tolist(), batch.value.tolist(), batch.quality.tolist(), strict=True
        ):
            self.last_time[slot] = t
            self._health(slot, "health.quality", q != GOOD, v, t, events)
            if q != GOOD:
                continue
            low, high = self.range[slot]
            self._health(slot, "health.range", not low <= v <= high, v, t, events)
            if v != self.last_value[slot]:
                self.flat_since[slot] = t
            self._health(slot, "health.stuck", t - self.flat_since[slot] >= STUCK_AFTER_NS, v, t, events)
            self.last_value[slot] = v
            self._threshold(slot, v, t, events)
            if self.minutes[slot] is not None:
                self._exposure(slot, v, t, events)
            if self.recent[slot] is not None:
                self._rate(slot, v, t, events)
        return events

    def tick(self, now_ns: int) -> list[dict]:
        events: list[dict] = []
        for slot, last in enumerate(self.last_time):
            if last:
                self._health(
                    slot, "health.offline", now_ns - last > self.offline_ns[slot], float("nan"), now_ns, events
                )
        return events

    def _threshold(self, slot: int, v: float, t: int, events: list[dict]) -> None:
        level = 0
        raw, since, active = self.raw[slot], self.since[slot], self.active[slot]
        for j, lv in enumerate(self.levels[slot]):
            x = lv.sign * v
            was = raw[j]
            if x >= lv.limit:
                raw[j] = True
            elif x < lv.reset:
                raw[j] = False
            if raw[j] != was:
                since[j] = t
            active[j] = raw[j] and t - since[j] >= lv.on_ns
            if active[j] and lv.latch:
                self.latched[slot] = True
            if active[j]:
                level = max(level, lv.level)
        if level != self.alarm[slot]:
            transition = "raise" if level > self.alarm[slot] else "clear"
            events.append({"slot": slot, "rule": "threshold", "level": level, "transition": transition,
                           "value": v, "time_ns": t, "latched": self.latched[slot]})  # fmt: skip
            self.alarm[slot] = level

    def _exposure(self, slot: int, v: float, t: int, events: list[dict]) -> None:
        minute = t // MINUTE_NS
        if minute != self.minute[slot] and self.minute_count[slot]:
            minutes = self.minutes[slot]
            minutes.append(self.minute_sum[slot] / self.minute_count[slot])
            self.minute_sum[slot] = 0.0
            self.minute_count[slot] = 0
            twa_limit, stel_limit = self.exposure[slot]
            stel = sum(list(minutes)[-15:]) / 15
            twa = sum(minutes) / 480
            level = 2 if stel >= stel_limit else 1 if twa >= twa_limit else 0
            if level != self.exposed[slot]:
                events.append({"slot": slot, "rule": "exposure", "level": level, "value": stel, "time_ns": t})
                self.exposed[slot] = level
        self.minute[slot] = minute
        self.minute_sum[slot] += v
        self.minute_count[slot] += 1

    def _rate(self, slot: int, v: float, t: int, events: list[dict]) -> None:
        recent = self.recent[slot]
        recent.append((t, v))
        while t - recent[0][0] > RATE_WINDOW_NS:
            recent.popleft()
        t0, v0 = recent[0]
        if t - t0 < RATE_WINDOW_NS // 2:
            return
        per_min = (v - v0) / ((t - t0) / MINUTE_NS)
        rising = per_min >= self.rate_limit[slot]
        if rising != self.rising[slot]:
            events.append({"slot": slot, "rule": "trend.rate", "level": int(rising), "value": per_min, "time_ns": t})
            self.rising[slot] = rising

    def _health(self, slot: int, rule: str, bad: bool, v: float, t: int, events: list[dict]) -> None:
        active = self.health[slot]
        if bad == (rule in active):
            return
        if bad:
            active.add(rule)
        else:
            active.discard(rule)
        events.append({"slot": slot, "rule": rule, "level": int(bad), "value": v, "time_ns": t})
