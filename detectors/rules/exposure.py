"""Exposure rules for toxic gases: rolling 15-minute STEL and 8-hour TWA (GB/T 50493 §5.5.2, GBZ 2.1).

Exposure is time-weighted: each reading's value holds until the next reading (gaps longer than
`max_gap_s` count only up to that length — a dead sensor is the health rules' business, not exposure).
The running integral is snapshotted at every minute boundary (a 16-minute ring, for STEL) and every
15 minutes (a 34-entry ring, for TWA), and both averages are evaluated when a sensor's readings cross a
minute boundary. That is per-minute resolution — ample for 15-minute and 8-hour averages — at a few
hundred bytes per toxic sensor, and it gives the same answer for any batching. Time before a sensor's
first reading counts as zero exposure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from detectors.alarms.conditions import ConditionChange
from detectors.engine.declaration import Parameter, Phase, RuleDeclaration
from detectors.engine.frame import NEVER, Frame, Series
from detectors.engine.members import Members, as_array
from detectors.engine.rule import Rule
from detectors.engine.setup import Setup
from detectors.rules.health import offline_after_s
from hazwatch.config.defaults import EXPOSURE_LIMITS_PPM
from hazwatch.config.kinds import TOXIC_KINDS, SensorKind

STEL = "exposure.stel"
TWA = "exposure.twa"

MINUTE_NS = 60_000_000_000
STEL_MINUTES = 15
TWA_MINUTES = 480
COARSE_MINUTES = 15
_FINE = STEL_MINUTES + 1
_COARSE = TWA_MINUTES // COARSE_MINUTES + 2

EXPOSURE_KINDS: frozenset[SensorKind] = TOXIC_KINDS
"""Kinds with TWA/STEL on by default (a sensor's `detect.exposure` overrides)."""


@dataclass(frozen=True)
class ExposureParams:
    """Per-slot arrays; NaN limits switch the rule off (non-toxic kinds)."""

    stel_limit: np.ndarray
    twa_limit: np.ndarray
    max_gap_s: np.ndarray


class ExposureDetector(Rule):
    def __init__(self, params: ExposureParams, labels: Sequence[str], units: Sequence[str] | None = None) -> None:
        n = len(labels)
        self.n_slots = n
        self.labels = labels
        self.units = units if units is not None else [""] * n
        members = np.flatnonzero(np.isfinite(params.stel_limit) | np.isfinite(params.twa_limit))
        self.members = members
        self.located = Members(n, members)
        m = len(members)
        self.stel_limit = params.stel_limit[members]
        self.twa_limit = params.twa_limit[members]
        self.max_gap_s = params.max_gap_s[members]
        self.integral = np.zeros(m)
        self.last_value = np.full(m, np.nan)
        self.last_time = np.full(m, NEVER, dtype=np.int64)
        self.minute = np.full(m, -1, dtype=np.int64)
        self.fine = np.zeros((m, _FINE))
        self.fine_at = np.full((m, _FINE), -1, dtype=np.int32)  # minutes since 1970: int32 lasts to year 6000
        self.coarse = np.zeros((m, _COARSE))
        self.coarse_at = np.full((m, _COARSE), -1, dtype=np.int32)
        self.level = {STEL: np.zeros(m, dtype=np.int8), TWA: np.zeros(m, dtype=np.int8)}

    def update_frame(self, frame: Frame, series: Series) -> list[ConditionChange]:
        picked, rows = self.located.locate(series)
        t = series.time[:, picked]
        v = series.value[:, picked]
        if not t.size:
            return []
        minute_start = self.minute[rows] * MINUTE_NS
        inside = (t[0] >= minute_start) & (t[-1] < minute_start + MINUTE_NS)
        if (inside | np.isnan(v[-1])).all():
            # No reading crosses a minute boundary (a sensor with no reading yet has only NaN): integrate.
            self._integrate(rows, t, v)
            return []
        rows = as_array(rows, len(self.members))
        prev_v = np.concatenate([self.last_value[rows][None, :], v[:-1]])
        prev_t = np.concatenate([self.last_time[rows][None, :], t[:-1]])
        cap = self.max_gap_s[rows]
        held = np.nan_to_num(prev_v) * np.clip((t - prev_t) / 1e9, 0, cap)
        integral = self.integral[rows] + np.cumsum(held, axis=0)
        minute = t // MINUTE_NS
        prev_minute = np.concatenate([self.minute[rows][None, :], minute[:-1]])
        crossing = (minute > prev_minute) & ~np.isnan(v)
        changes: list[ConditionChange] = []
        col, r = np.nonzero(crossing.T)
        if len(col):
            start = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
            ordinal = np.arange(len(col)) - np.repeat(start, np.diff(np.r_[start, len(col)]))
            before = integral[r, col] - held[r, col]
            for k in range(int(ordinal.max()) + 1):
                now = ordinal == k
                c, rr = col[now], r[now]
                changes += self._cross(
                    rows[c],
                    minute[rr, c],
                    prev_minute[rr, c],
                    before[now],
                    prev_v[rr, c],
                    prev_t[rr, c],
                    cap[c],
                    v[rr, c],
                    t[rr, c],
                )
        self.integral[rows] = integral[-1]
        self.last_value[rows] = v[-1]
        self.last_time[rows] = t[-1]
        self.minute[rows] = np.where(np.isnan(v[-1]), self.minute[rows], minute[-1])
        return changes

    def _integrate(self, rows: np.ndarray | slice, t: np.ndarray, v: np.ndarray) -> None:
        """The running integral and the last reading, as update_frame keeps them, for readings in one minute."""
        last_v, last_t = self.last_value[rows], self.last_time[rows]
        prev_v = last_v[None, :] if len(v) == 1 else np.concatenate([last_v[None, :], v[:-1]])
        prev_t = last_t[None, :] if len(t) == 1 else np.concatenate([last_t[None, :], t[:-1]])
        held = np.nan_to_num(prev_v) * np.clip((t - prev_t) / 1e9, 0, self.max_gap_s[rows])
        self.integral[rows] = self.integral[rows] + np.cumsum(held, axis=0)[-1]
        self.last_value[rows] = v[-1]
        self.last_time[rows] = t[-1]

    def _cross(self, rows, minute, prev_minute, before, prev_v, prev_t, cap, value, time) -> list[ConditionChange]:
        """Snapshot the integral at the boundaries crossed (gaps filled), then evaluate STEL and TWA."""
        started = prev_minute >= 0
        hold = np.nan_to_num(prev_v)

        def integral_at(boundary: np.ndarray) -> np.ndarray:
            return before + hold * np.clip((boundary * MINUTE_NS - prev_t) / 1e9, 0, cap)

        for back in range(min(_FINE - 1, int((minute - prev_minute).max())) - 1, -1, -1):
            b = minute - back
            write = (b > prev_minute) & started
            slot = b % _FINE
            self.fine[rows[write], slot[write]] = integral_at(b)[write]
            self.fine_at[rows[write], slot[write]] = b[write]
        decade = minute // COARSE_MINUTES * COARSE_MINUTES
        span = int(((decade - prev_minute) // COARSE_MINUTES).max()) + 1
        for back in range(min(_COARSE - 1, span), -1, -1):
            d = decade - back * COARSE_MINUTES
            write = (d > prev_minute) & started
            slot = (d // COARSE_MINUTES) % _COARSE
            self.coarse[rows[write], slot[write]] = integral_at(d)[write]
            self.coarse_at[rows[write], slot[write]] = d[write]
        now = np.where(started, integral_at(minute), 0.0)
        stel = (now - self._at(self.fine, self.fine_at, rows, minute - STEL_MINUTES, _FINE, 1)) / (STEL_MINUTES * 60)
        target = (minute - TWA_MINUTES) // COARSE_MINUTES * COARSE_MINUTES
        past = self._at(self.coarse, self.coarse_at, rows, target, _COARSE, COARSE_MINUTES)
        stamped = self.coarse_at[rows, (target // COARSE_MINUTES) % _COARSE] == target
        window = np.where(stamped, np.maximum(minute - target, TWA_MINUTES), TWA_MINUTES) * 60
        twa = (now - past) / window
        return self._emit(STEL, rows, stel, self.stel_limit[rows], value, time) + self._emit(
            TWA, rows, twa, self.twa_limit[rows], value, time
        )

    @staticmethod
    def _at(
        ring: np.ndarray, stamp: np.ndarray, rows: np.ndarray, minute: np.ndarray, size: int, step: int
    ) -> np.ndarray:
        """The integral snapshotted at `minute`, or 0 when it predates the sensor's first reading."""
        slot = (minute // step) % size
        return np.where(stamp[rows, slot] == minute, ring[rows, slot], 0.0)

    def _emit(self, rule, rows, average, limit, value, time) -> list[ConditionChange]:
        before = self.level[rule][rows]
        level = np.where(average >= limit, 1, 0).astype(np.int8)
        self.level[rule][rows] = level
        name = "STEL (15 min)" if rule == STEL else "TWA (8 h)"
        out = []
        for i in np.flatnonzero(level != before).tolist():
            slot = int(self.members[rows[i]])
            label, unit = self.labels[slot], self.units[slot]
            message = (
                f"{label} {name} {average[i]:.3g} {unit} ≥ limit {limit[i]:g} {unit}"
                if level[i]
                else f"{label} {name} {average[i]:.3g} {unit} back below {limit[i]:g} {unit}"
            )
            out.append(
                ConditionChange(
                    slot=slot,
                    rule=rule,
                    category="process",
                    level=int(level[i]),
                    level_name=rule.split(".")[1] if level[i] else "normal",
                    priority="high",
                    value=float(average[i]),
                    limit=float(limit[i]),
                    time_ns=int(time[i]),
                    message=message,
                    extra={"reading": float(value[i])},
                )
            )
        return out


# ---- from the site config ----------------------------------------------------------------------------


def exposure_params(setup: Setup) -> ExposureParams:
    registry = setup.registry
    n = len(registry)
    stel = np.full(n, np.nan)
    twa = np.full(n, np.nan)
    for s in registry:
        wanted = s.detect.exposure if s.detect.exposure is not None else s.kind in EXPOSURE_KINDS
        if wanted and s.detect.wants("exposure") and s.kind in EXPOSURE_LIMITS_PPM:
            twa[s.slot], stel[s.slot] = EXPOSURE_LIMITS_PPM[s.kind]
    gap = np.array([offline_after_s(s) for s in registry])
    return ExposureParams(stel_limit=stel, twa_limit=twa, max_gap_s=np.where(np.isfinite(gap), gap, 60.0))


RULE = RuleDeclaration(
    name="exposure",
    phase=Phase.SENSOR,
    after=("threshold",),
    build=lambda setup: ExposureDetector(exposure_params(setup), setup.labels, setup.units),
    parameters=(
        Parameter("TWA / STEL limits", "per toxic kind (hazwatch/config/defaults.py EXPOSURE_LIMITS_PPM)", "ppm",
                  "DOMAIN.md §2: GBZ 2.1-2019 occupational exposure limits, GB/T 50493 §5.5.2"),
        Parameter("exposure", "on for toxic kinds", "switch", "GB/T 50493 §5.5.2"),
        Parameter("max_gap_s", "the sensor's offline time (60 s when offline is off)", "s",
                  "engineering choice: a dead sensor is the health rules' business, not exposure"),
    ),
)
