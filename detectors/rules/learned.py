"""Learned normal: for signals nobody set limits for, learn what normal looks like and alarm on what stays unusual.

Per sensor, online and vectorised across sensors (one numpy step per reading time of a frame):

- **level**: a slow, outlier-clipped (Huber) exponential mean of the de-seasonalised value;
- **pattern**: the mean offset from the level per hour of the day and per hour of the week; each of the
  three predictions (level, level + daily, level + weekly) keeps its own clipped mean absolute error,
  and the one with the smallest error predicts — seasonality only where the data has it;
- **surprise**: |reading − prediction| / that error (a robust z), smoothed over a few readings
  (`learned.unusual`: a spike, a jump) and, as a second condition of its own, averaged over many
  (`learned.persistent`, `persistent_readings`: a moderate deviation that persists — a drifting level,
  a noisier regime — never ranks high among single readings, yet is as unusual as one large reading);
- **calibrated threshold**: the surprise is compared with what this sensor's own normal surprise has
  been — a conformal rank against a decayed log-histogram of past surprises (the k-NN CAD /
  conformal idea), so the alarm rate on normal data follows the configured budget instead of a
  constant chosen for one kind of signal (`budget_per_day`); until the history is long enough to
  vouch for that rate, the threshold is `max_surprise`. The two conditions split the budget
  (`persistent_share` of it to the persistent one), each ranked against its own history;
- **stays unusual**: raise once the smoothed surprise ranks beyond the budget's quantile and is at least
  `min_surprise`; clear when it has been below half of that for `hold_s`;
- **adapts**: a condition unusual for `adapt_after_s` is taken as a new operating point: the level
  re-anchors to the recent readings, the alarm clears instead of standing forever, and the rule
  relearns at full weight for `hold_s` before it may raise again; during an alarm, learning is slowed
  and clipped (and the pattern not taught at all) so the anomaly does not become normal before it has
  been raised.

Where each idea comes from and why it was chosen is in docs/detectors.md ("Learned normal").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from pydantic import Field

from detectors.alarms.conditions import ConditionChange
from detectors.engine.declaration import Parameter, Phase, RuleDeclaration, spoken
from detectors.engine.frame import Frame, Series
from detectors.engine.rule import Rule
from detectors.engine.scan import changed_cells, last_decision, run_start
from detectors.engine.setup import Setup
from hazwatch.config.kinds import SensorKind
from hazwatch.config.limits import StrictModel

UNUSUAL = "learned.unusual"
PERSISTENT = "learned.persistent"
HOUR_NS = 3_600_000_000_000
DAY_BINS = 24
WEEK_BINS = 168
WEEK_OFFSET_H = 72
"""1970-01-01 was a Thursday: shift so weekly bin 0 is Monday 00:00 UTC."""
HISTOGRAM_BINS = 48
HISTOGRAM_LOG_MIN = -3.0
HISTOGRAM_LOG_MAX = 5.0
"""Surprise histogram edges: e^-3 … e^5 (0.05 … 148 robust z), log-spaced."""
CLIP = 6.0
"""Residuals beyond this many errors are clipped before they teach the model (robust to the anomaly itself)."""
MODELS = 3
CHUNK = 64
"""Readings per sensor scored against one state: long back-fills are taken in chunks of this many steps."""
SEASON_RATE = 0.2
"""Weight of a new reading in its hour-of-day / hour-of-week bin (after a running mean of its first readings)."""
RECUR_DECAY = 0.8
"""Per day: how much of an hour's past surprise still excuses the same surprise at that hour today."""
RECUR_MARGIN = 2.0
"""An hour that was unusual on earlier days raises again only when twice as surprising as it was then."""


@dataclass(frozen=True)
class LearnedParams:
    """Per-slot arrays; a NaN `budget_per_day` leaves the slot out of the rule."""

    budget_per_day: np.ndarray
    """False alarms per sensor-day the rule may spend on normal data: sets the surprise quantile."""
    level_s: np.ndarray
    """Time constant of the level (seconds): slow, so daily and weekly patterns go to the pattern tables."""
    error_s: np.ndarray
    """Time constant of the prediction errors and the surprise history (seconds)."""
    smooth: np.ndarray
    """Readings the surprise is smoothed over: one odd reading is noise, a few in a row are not."""
    min_surprise: np.ndarray
    """Smallest smoothed robust z that may alarm, whatever the history says."""
    max_surprise: np.ndarray
    """The threshold while the history is still too short to vouch for the budget's rate."""
    warmup: np.ndarray
    """Readings learned before the rule may alarm."""
    warmup_s: np.ndarray
    """Time learned before the rule may alarm: a day, so the daily pattern is part of normal before judging."""
    adapt_after_s: np.ndarray
    """Unusual this long → a new operating point: re-anchor and relearn."""
    hold_s: np.ndarray
    """An alarm stays at least this long after the last unusual reading: a burst of spikes is one alarm."""
    scale_floor: np.ndarray
    """Smallest deviation counted as normal, as a fraction of the signal's spread: a noiseless signal's
    rounding is not an anomaly."""
    persistent_readings: np.ndarray
    """Readings the persistent condition averages the surprise over."""
    persistent_share: np.ndarray
    """Share of the budget the persistent condition spends (0: off); `learned.unusual` spends the rest."""
    persistent_min_surprise: np.ndarray
    persistent_max_surprise: np.ndarray
    """`min_surprise` / `max_surprise` of the persistent condition: an average of many readings' surprise
    stays close to 1 on normal data, so twice that, sustained, is already rare."""


def conditions(p: LearnedParams) -> tuple[tuple[str, LearnedParams], ...]:
    """The rule's two conditions as parameter sets of one shape; a NaN budget leaves a slot out of one."""
    share = p.persistent_share
    unusual = replace(p, budget_per_day=p.budget_per_day * (1.0 - share))
    persistent = replace(
        p,
        budget_per_day=np.where(share > 0, p.budget_per_day * share, np.nan),
        smooth=p.persistent_readings,
        min_surprise=p.persistent_min_surprise,
        max_surprise=p.persistent_max_surprise,
    )
    return (UNUSUAL, unusual), (PERSISTENT, persistent)


def params_from(chosen: Sequence[LearnedSettings | None]) -> LearnedParams:
    """Per-slot arrays from each slot's settings; None (a NaN budget) leaves the slot out of the rule."""
    fill = [c or LearnedSettings() for c in chosen]
    return LearnedParams(
        budget_per_day=np.array([c.budget_per_day if c else np.nan for c in chosen]),
        level_s=np.array([c.level_s for c in fill]),
        error_s=np.array([c.error_s for c in fill]),
        smooth=np.array([c.smooth_readings for c in fill]),
        min_surprise=np.array([c.min_surprise for c in fill]),
        max_surprise=np.array([c.max_surprise for c in fill]),
        warmup=np.array([c.warmup_readings for c in fill], dtype=np.int64),
        warmup_s=np.array([c.warmup_s for c in fill]),
        adapt_after_s=np.array([c.adapt_after_s for c in fill]),
        hold_s=np.array([c.hold_s for c in fill]),
        scale_floor=np.array([c.scale_floor for c in fill]),
        persistent_readings=np.array([c.persistent_readings for c in fill]),
        persistent_share=np.array([c.persistent_share for c in fill]),
        persistent_min_surprise=np.array([c.persistent_min_surprise for c in fill]),
        persistent_max_surprise=np.array([c.persistent_max_surprise for c in fill]),
    )


def _smoothed(z: np.ndarray, fresh: np.ndarray, warm: np.ndarray, start: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The surprise's exponential smoothing down each column (held on cells without a fresh reading, zero before
    warm-up). The common case — every cell fresh and warm, one smoothing for all — is one small matrix product."""
    steps = z.shape[0]
    if fresh.all() and warm.all() and (a == a[0]).all():
        k = np.arange(steps)
        lag = k[:, None] - k[None, :]
        weights = np.where(lag >= 0, a[0] * (1 - a[0]) ** np.maximum(lag, 0), 0.0)
        return weights @ z + ((1 - a[0]) ** (k + 1))[:, None] * start[None, :]
    out = np.empty_like(z)
    previous = start
    for step in range(steps):
        previous = np.where(fresh[step], np.where(warm[step], previous + a * (z[step] - previous), 0.0), previous)
        out[step] = previous
    return out


class LearnedNormalDetector(Rule):
    """Each (sensor, condition) is one row of the state, so both conditions of all sensors run in one pass."""

    def __init__(self, params: LearnedParams, labels: Sequence[str], units: Sequence[str] | None = None) -> None:
        n = len(labels)
        self.n_slots = n
        self.labels = labels
        self.units = units if units is not None else [""] * n
        named = conditions(params)
        chosen = [np.flatnonzero(np.isfinite(c.budget_per_day)) for _, c in named]
        self.row_of = np.full((len(named), n), -1, dtype=np.int32)
        start = 0
        for k, slots in enumerate(chosen):
            self.row_of[k, slots] = start + np.arange(len(slots))
            start += len(slots)
        self.rule_of_row = [name for (name, _), slots in zip(named, chosen, strict=True) for _ in slots]
        members = np.concatenate(chosen)
        self.members = members
        self.partner = np.full(len(members), -1, dtype=np.int32)
        """Per persistent row: the row of its sensor's learned.unusual condition (-1: none)."""
        persistent = self.row_of[1][self.row_of[1] >= 0]
        self.partner[persistent] = self.row_of[0][members[persistent]]
        m = len(members)
        p = LearnedParams(
            **{
                field: np.concatenate([getattr(c, field)[slots] for (_, c), slots in zip(named, chosen, strict=True)])
                for field in LearnedParams.__dataclass_fields__
            }
        )
        members = np.arange(m)
        self.budget = p.budget_per_day[members]
        self.level_ns = p.level_s[members] * 1e9
        self.error_ns = p.error_s[members] * 1e9
        self.smooth_alpha = 1.0 / np.maximum(p.smooth[members], 1.0)
        self.min_surprise = p.min_surprise[members]
        self.warmup = p.warmup[members]
        self.adapt_ns = p.adapt_after_s[members] * 1e9
        self.learned = np.zeros(m, dtype=np.int64)
        self.last_ns = np.zeros(m, dtype=np.int64)
        self.interval_ns = np.zeros(m)
        self.level = np.zeros(m)
        self.spread = np.zeros(m)
        self.day = np.zeros((m, DAY_BINS))
        self.day_seen = np.zeros((m, DAY_BINS))
        self.week = np.zeros((m, WEEK_BINS))
        self.week_seen = np.zeros((m, WEEK_BINS))
        self.error = np.zeros((m, MODELS))
        self.surprise = np.zeros(m)
        self.history = np.zeros((m, HISTOGRAM_BINS))
        self.state = np.zeros(m, dtype=np.int8)
        self.unusual_since = np.zeros(m, dtype=np.int64)
        self.last_unusual_ns = np.zeros(m, dtype=np.int64)
        self.first_ns = np.zeros(m, dtype=np.int64)
        self.relearn_until_ns = np.zeros(m, dtype=np.int64)
        self.hour_peak = np.zeros((m, DAY_BINS))
        """Largest surprise seen at each hour of the day on the days before `hour_peak_day`, decayed per day."""
        self.hour_peak_today = np.zeros((m, DAY_BINS))
        self.hour_peak_day = np.full((m, DAY_BINS), -1, dtype=np.int64)
        """After adapting to a new operating point the rule relearns for `hold_s` before it may raise again."""
        self.warmup_ns = p.warmup_s[members] * 1e9
        self.hold_ns = p.hold_s[members] * 1e9
        self.floor = p.scale_floor[members]
        self.max_surprise = p.max_surprise[members]

    # ---- Rule --------------------------------------------------------------------------------------------

    def update_frame(self, frame: Frame, series: Series) -> list[ConditionChange]:
        rows = self.row_of[:, series.slots]
        _, cols = np.nonzero(rows >= 0)
        if not len(cols):
            return []
        rows = rows[rows >= 0]
        changes: list[ConditionChange] = []
        for lo in range(0, series.steps, CHUNK):
            hi = min(series.steps, lo + CHUNK)
            x = series.value[lo:hi, cols]
            t = series.time[lo:hi, cols]
            fresh = np.isfinite(x)
            if series.fresh is not None:
                fresh &= series.fresh[lo:hi, cols]
            if fresh.any():
                changes += self._chunk(rows, x, t, fresh)
        return changes

    # ---- a chunk of readings, scored against the state at its start, then learned from ------------------

    def _chunk(self, r: np.ndarray, x: np.ndarray, t: np.ndarray, fresh: np.ndarray) -> list[ConditionChange]:
        steps, c = x.shape
        col = np.arange(c)[None, :]
        hours = t // HOUR_NS
        hd = hours % DAY_BINS
        hw = (hours + WEEK_OFFSET_H) % WEEK_BINS
        first = self.learned[r] == 0
        first_value = x[np.argmax(fresh, axis=0), np.arange(c)]
        level = np.where(first, first_value, self.level[r])
        x = np.where(fresh, x, level[None, :])
        day, week = self.day[r][col, hd], self.week[r][col, hw]
        predictions = np.stack([np.broadcast_to(level, x.shape), level + day, level + week])
        errors = np.abs(x[None] - predictions)
        err = self.error[r].T[:, None, :]
        seen_count = np.cumsum(fresh, axis=0) - fresh + self.learned[r][None, :]
        self.first_ns[r] = np.where(first, t[np.argmax(fresh, axis=0), np.arange(c)], self.first_ns[r])
        warm = (seen_count >= self.warmup[r][None, :]) & (t - self.first_ns[r][None, :] >= self.warmup_ns[r][None, :])
        ready = np.stack(
            [np.ones(x.shape, bool), self.day_seen[r][col, hd] >= 2, self.week_seen[r][col, hw] >= 2]
        ) & warm[None]
        ready[0] = True
        best = np.argmin(np.where(ready, np.broadcast_to(err, errors.shape), np.inf), axis=0)
        pick = best[None]
        scale = np.maximum(
            np.take_along_axis(np.broadcast_to(err, errors.shape), pick, axis=0)[0],
            self.floor[r][None, :] * self.spread[r][None, :] + 1e-12,
        )
        prediction = np.take_along_axis(predictions, pick, axis=0)[0]
        z = np.where(warm & ~first[None, :], np.minimum(np.abs(x - prediction) / scale, 1e6), 0.0)

        surprise = _smoothed(z, fresh, warm, self.surprise[r], self.smooth_alpha[r])

        quantile = self._quantile(r, self._budget_fraction(r))
        limit = np.where(np.isfinite(quantile), np.maximum(quantile, self.min_surprise[r]), self.max_surprise[r])
        relearning = t < self.relearn_until_ns[r][None, :]
        recurring = self._recurring(r, hours, hd)
        on = warm & fresh & ~relearning & (surprise >= limit[None, :]) & (surprise > RECUR_MARGIN * recurring)
        on &= ~self._partner_standing(r, on)
        last_on = last_decision(on, t, self.last_unusual_ns[r])
        self.last_unusual_ns[r] = last_on[-1]
        off = fresh & (surprise < 0.5 * limit[None, :]) & (t - last_on >= self.hold_ns[r][None, :])
        before = self.state[r]
        state = last_decision(on | off, on.astype(np.int8), before)
        since = run_start(state, before, t, self.unusual_since[r])
        adapt = (state == 1) & (t - since >= self.adapt_ns[r][None, :])
        adapted_at = np.where(adapt.any(axis=0), np.argmax(adapt, axis=0), steps)
        after_adapt = np.arange(steps)[:, None] >= adapted_at[None, :]
        state = np.where(after_adapt, 0, state).astype(np.int8)
        adapted_ns = t[np.minimum(adapted_at, steps - 1), np.arange(c)]
        self.relearn_until_ns[r] = np.where(
            adapted_at < steps, adapted_ns + self.hold_ns[r].astype(np.int64), self.relearn_until_ns[r]
        )

        changes = self._emit(r, state, before, x, limit, t, surprise, adapt)
        self._learn(r, x, t, fresh, first, level, prediction, scale, errors, surprise, warm, state, hd, hw, after_adapt)
        self._learn_hour_peaks(r, hours, hd, np.where(fresh & warm & (surprise >= limit[None, :]), surprise, -1.0))
        self.state[r] = state[-1]
        self.unusual_since[r] = run_start(state, before, t, self.unusual_since[r])[-1]
        self.surprise[r] = np.where(adapted_at < steps, 0.0, surprise[-1])
        return changes

    def _learn(
        self,
        r: np.ndarray,
        x: np.ndarray,
        t: np.ndarray,
        fresh: np.ndarray,
        first: np.ndarray,
        level: np.ndarray,
        prediction: np.ndarray,
        scale: np.ndarray,
        errors: np.ndarray,
        surprise: np.ndarray,
        warm: np.ndarray,
        state: np.ndarray,
        hd: np.ndarray,
        hw: np.ndarray,
        after_adapt: np.ndarray,
    ) -> None:
        """Fold the chunk into the state; unusual readings teach a tenth as much, clipped (robust)."""
        c = x.shape[1]
        last = np.where(fresh, t, np.iinfo(np.int64).min).max(axis=0)
        previous_t = np.concatenate([np.where(first, t[0], self.last_ns[r])[None, :], t[:-1]])
        dt = np.where(fresh, np.maximum(t - previous_t, 0), 0).astype(np.float64)
        count = fresh.sum(axis=0)
        positive = fresh & (dt > 0)
        mean_dt = np.where(positive.any(axis=0), (dt * positive).sum(axis=0) / np.maximum(positive.sum(axis=0), 1), 0)
        self.interval_ns[r] = np.where(
            self.interval_ns[r] > 0, self.interval_ns[r] + 0.2 * (mean_dt - self.interval_ns[r]), mean_dt
        )
        self.last_ns[r] = np.where(count > 0, last, self.last_ns[r])
        n = self.learned[r] + np.cumsum(fresh, axis=0)
        weight = np.where(fresh, np.where(state == 1, 0.1, 1.0), 0.0)

        def decay(tau_ns: np.ndarray) -> np.ndarray:
            """Combined EWMA weight of the chunk's readings: 1 − Π(1 − d), d = max(1/n, 1 − e^(−dt/τ))."""
            d = np.maximum(1.0 / np.maximum(n, 1), 1.0 - np.exp(-dt / tau_ns[None, :])) * weight
            return 1.0 - np.prod(1.0 - np.clip(d, 0.0, 1.0), axis=0)

        def mean(values: np.ndarray) -> np.ndarray:
            return (values * weight).sum(axis=0) / np.maximum(weight.sum(axis=0), 1e-12)

        level_rate, error_rate = decay(self.level_ns[r]), decay(self.error_ns[r])
        bound = CLIP * scale
        seasonal = prediction - level[None, :]
        target = x - seasonal
        step = np.where(warm, np.clip(target - level[None, :], -bound, bound), target - level[None, :])
        new_level = level + level_rate * mean(step)
        adapted = after_adapt.any(axis=0)
        if adapted.any():
            tail = fresh & after_adapt
            anchored = (target * tail).sum(axis=0) / np.maximum(tail.sum(axis=0), 1)
            new_level = np.where(adapted & tail.any(axis=0), anchored, new_level)
        self.level[r] = np.where(count > 0, new_level, self.level[r])
        self.spread[r] += np.where(first, 1.0, error_rate) * (mean(np.abs(x - level[None, :])) - self.spread[r])

        resid = np.clip(x - level[None, :], -bound - np.abs(seasonal), bound + np.abs(seasonal))
        seasons = ((self.day, self.day_seen, hd, DAY_BINS), (self.week, self.week_seen, hw, WEEK_BINS))
        usual = np.where(state == 1, 0.0, weight)  # the pattern is never taught by an unusual reading
        for table, seen, bins, size in seasons:
            flat = (np.arange(c)[None, :] * size + bins)[fresh]
            sums = np.bincount(flat, weights=(resid * usual)[fresh], minlength=c * size).reshape(c, size)
            hits = np.bincount(flat, weights=usual[fresh], minlength=c * size).reshape(c, size)
            visits = np.bincount(flat, minlength=c * size).reshape(c, size)
            rows_seen = seen[r]
            rate = np.maximum(SEASON_RATE, 1.0 / (rows_seen + 1))
            rate = 1.0 - (1.0 - rate) ** hits
            table_r = table[r]
            table[r] = np.where(hits > 0, table_r + rate * (sums / np.maximum(hits, 1e-12) - table_r), table_r)
            seen[r] = rows_seen + visits

        err = self.error[r]
        clipped = np.minimum(errors, CLIP * np.maximum(err.T[:, None, :], 1e-12))
        clipped = np.where(warm[None], clipped, errors)  # no clipping against an error not yet learned
        chunk_err = np.stack([mean(clipped[m]) for m in range(MODELS)], axis=1)
        rate = np.where(first, 1.0, error_rate)[:, None]
        self.error[r] = np.where(count[:, None] > 0, err + rate * (chunk_err - err), err)

        remembered = fresh & warm
        if remembered.any():
            self.history[r] *= (1.0 - error_rate)[:, None]
            where = np.clip(
                (np.log(np.maximum(surprise, 1e-9)) - HISTOGRAM_LOG_MIN)
                / (HISTOGRAM_LOG_MAX - HISTOGRAM_LOG_MIN)
                * HISTOGRAM_BINS,
                0,
                HISTOGRAM_BINS - 1,
            ).astype(np.int64)
            flat = (np.arange(c)[None, :] * HISTOGRAM_BINS + where)[remembered]
            self.history[r] += np.bincount(flat, minlength=c * HISTOGRAM_BINS).reshape(c, HISTOGRAM_BINS)
        self.learned[r] += count

    def _partner_standing(self, r: np.ndarray, on: np.ndarray) -> np.ndarray:
        """Per cell of a persistent row: its sensor's learned.unusual alarm stands (from the chunk's start, or
        raised earlier in it). One event is one alarm: the persistent condition adds nothing to a sensor the
        operator is already looking at."""
        partner = self.partner[r]
        has = partner >= 0
        if not has.any():
            return np.zeros(on.shape, dtype=bool)
        safe = np.maximum(partner, 0)
        col_of = np.full(len(self.members), -1, dtype=np.int64)
        col_of[r] = np.arange(len(r))
        partner_col = col_of[safe]
        raised = np.logical_or.accumulate(on[:, np.maximum(partner_col, 0)], axis=0) & (partner_col >= 0)[None, :]
        return has[None, :] & ((self.state[safe] == 1)[None, :] | raised)

    def _recurring(self, r: np.ndarray, hours: np.ndarray, hd: np.ndarray) -> np.ndarray:
        """Per cell: the surprise this hour of the day has already shown on earlier days (decayed).

        Exceeding the threshold is not enough when the same hour was as surprising yesterday: a batch job,
        a shift change, a nightly purge recur at their hour, and the first occurrence was already raised."""
        col = np.arange(hours.shape[1])[None, :]
        day = hours // DAY_BINS
        seen_day = self.hour_peak_day[r][col, hd]
        before = np.maximum(self.hour_peak[r][col, hd], self.hour_peak_today[r][col, hd])
        rolled = before * RECUR_DECAY ** np.maximum(day - seen_day, 0)
        kept = self.hour_peak[r][col, hd] * RECUR_DECAY ** np.maximum(day - seen_day, 0)
        return np.where(seen_day < 0, 0.0, np.where(day > seen_day, rolled, kept))

    def _learn_hour_peaks(self, r: np.ndarray, hours: np.ndarray, hd: np.ndarray, surprise: np.ndarray) -> None:
        """Fold the chunk's surprise into the per-hour peaks: the newest day of each hour is 'today', older
        days of the chunk (coarse data: a chunk spans days) go to the earlier days' peak."""
        c = hours.shape[1]
        day = hours // DAY_BINS
        flat = (np.arange(c)[None, :] * DAY_BINS + hd).ravel()
        day_f, surprise_f = day.ravel(), surprise.ravel()
        counted = surprise_f >= 0
        newest = np.full(c * DAY_BINS, -1, dtype=np.int64)
        np.maximum.at(newest, flat[counted], day_f[counted])
        is_newest = counted & (day_f == newest[flat])
        today = np.zeros(c * DAY_BINS)
        np.maximum.at(today, flat[is_newest], surprise_f[is_newest])
        earlier = np.zeros(c * DAY_BINS)
        np.maximum.at(earlier, flat[counted & ~is_newest], surprise_f[counted & ~is_newest])
        shape = (c, DAY_BINS)
        newest, today, earlier = newest.reshape(shape), today.reshape(shape), earlier.reshape(shape)
        seen_day, peak, peak_today = self.hour_peak_day[r], self.hour_peak[r], self.hour_peak_today[r]
        new_day = newest > seen_day
        rolled = np.maximum(np.maximum(peak, peak_today) * RECUR_DECAY ** np.maximum(newest - seen_day, 0), earlier)
        self.hour_peak[r] = np.where(new_day, np.where(seen_day < 0, earlier, rolled), peak)
        self.hour_peak_today[r] = np.where(new_day, today, np.maximum(peak_today, today))
        self.hour_peak_day[r] = np.where(new_day, newest, seen_day)

    def _budget_fraction(self, r: np.ndarray) -> np.ndarray:
        """The budget as a fraction of readings: alarms per day × reading interval / day."""
        interval = np.where(self.interval_ns[r] > 0, self.interval_ns[r], 1e9)
        return np.clip(self.budget[r] * interval / 86400e9, 1e-7, 0.5)

    def _quantile(self, r: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """The surprise only `fraction` of this sensor's history exceeded (upper bin edge: conservative).

        A history of n readings cannot vouch for a rate below 1/n (a conformal rank is at best 1/(n+1)):
        until it holds 1/fraction readings the answer is +inf, and the caller uses max_surprise instead.
        """
        counts = self.history[r]
        total = counts.sum(axis=1)
        cumulative = np.cumsum(counts, axis=1)
        index = (cumulative < ((1.0 - fraction) * total)[:, None]).sum(axis=1)
        edge = HISTOGRAM_LOG_MIN + (index + 1) * (HISTOGRAM_LOG_MAX - HISTOGRAM_LOG_MIN) / HISTOGRAM_BINS
        return np.where(total * fraction >= 1.0, np.exp(edge), np.inf)

    def _emit(
        self,
        r: np.ndarray,
        state: np.ndarray,
        before: np.ndarray,
        x: np.ndarray,
        limit: np.ndarray,
        t: np.ndarray,
        surprise: np.ndarray,
        adapt: np.ndarray,
    ) -> list[ConditionChange]:
        out = []
        steps, cols = changed_cells(state, before)
        for k, i in zip(steps.tolist(), cols.tolist(), strict=True):
            slot = int(self.members[r[i]])
            rule = self.rule_of_row[r[i]]
            label = self.labels[slot]
            if state[k, i]:
                over = "on average over many readings" if rule == PERSISTENT else "over a few readings"
                text = (
                    f"{label} unusual: {surprise[k, i]:.1f}× its normal deviation {over} (alarm at {limit[i]:.1f}×)"
                )
            elif adapt[k, i]:
                text = f"{label}: unusual long enough to be a new operating point; relearning from here"
            else:
                text = f"{label}: back to its learned normal"
            out.append(
                ConditionChange(
                    slot=slot,
                    rule=rule,
                    category="process",
                    level=int(state[k, i]),
                    level_name="unusual" if state[k, i] else "normal",
                    priority="medium",
                    value=float(x[k, i]),
                    limit=float(limit[i]),
                    time_ns=int(t[k, i]),
                    message=text,
                    extra={"surprise": round(float(surprise[k, i]), 2)},
                )
            )
        return out


# ---- from the site config ----------------------------------------------------------------------------

LEARNED_KINDS: frozenset[SensorKind] = frozenset({SensorKind.GENERIC})
"""Kinds the rule watches without being asked: those with no limits to watch."""


class LearnedSettings(StrictModel):
    """`detect.rules.learned` of a sensor: present turns the rule on (it is on by default for generic sensors)."""

    budget_per_day: float = Field(
        default=1.3, gt=0, description="false alarms per sensor-day it may raise on normal data (sets its quantile)"
    )
    min_surprise: float = Field(default=4.0, gt=0, description="smallest smoothed robust z that may alarm")
    max_surprise: float = Field(
        default=5.0, gt=0, description="the threshold until the history is long enough to vouch for the budget"
    )
    smooth_readings: float = Field(default=3.0, ge=1, description="readings the surprise is smoothed over")
    persistent_readings: float = Field(
        default=48.0, ge=1, description="readings learned.persistent averages the surprise over"
    )
    persistent_share: float = Field(
        default=0.23, ge=0, lt=1, description="share of the budget learned.persistent spends (0 switches it off)"
    )
    persistent_min_surprise: float = Field(default=2.0, gt=0, description="smallest average surprise that may alarm")
    persistent_max_surprise: float = Field(
        default=3.0, gt=0, description="learned.persistent's threshold until its history vouches for the budget"
    )
    warmup_readings: int = Field(default=100, ge=1, description="readings learned before it may alarm")
    warmup_s: float = Field(default=86400.0, ge=0, description="time learned before it may alarm (a daily cycle)")
    adapt_after_s: float = Field(
        default=86400.0, gt=0, description="unusual this long is a new operating point: relearn from there"
    )
    hold_s: float = Field(
        default=43200.0, ge=0, description="an alarm stays this long after the last unusual reading (one per burst)"
    )
    scale_floor: float = Field(
        default=0.02, ge=0, description="deviations below this fraction of the signal's spread are never unusual"
    )
    level_s: float = Field(default=259200.0, gt=0, description="time constant of the learned level")
    error_s: float = Field(default=604800.0, gt=0, description="time constant of the learned spread and history")


def learned_params_of(setup: Setup) -> LearnedParams:
    """Generic sensors with the defaults, any sensor with `detect.rules.learned`; `detect.disable: [learned]`
    switches it off."""
    chosen = []
    for s in setup.registry:
        settings = setup.rule_settings(s, "learned", LearnedSettings)
        if settings is None and s.kind in LEARNED_KINDS:
            settings = LearnedSettings()
        chosen.append(settings if s.detect.wants("learned") else None)
    return params_from(chosen)


RULE = RuleDeclaration(
    name="learned",
    phase=Phase.SENSOR,
    after=("trend",),
    build=lambda setup: LearnedNormalDetector(learned_params_of(setup), setup.labels, setup.units),
    settings=LearnedSettings,
    parameters=(
        Parameter("budget_per_day",
                  f"{spoken(LearnedSettings.model_fields['budget_per_day'].default)} (generic sensors; others only "
                  "with detect.rules.learned)", "alarms/sensor-day",
                  "ISA-18.2 ≤ 1 alarm per 10 min per operator in normal operation = 144 a day for ~110 sensors"),
        Parameter.of(LearnedSettings, "persistent_readings, persistent_share", "readings, fraction of the budget",
                     "engineering choice: four hours of five-minute data; the persistent condition spends 0.3 a day"),
        Parameter.of(LearnedSettings, "persistent_min_surprise, persistent_max_surprise", "mean robust z",
                     "an average of many readings' robust z stays near 1 on normal data: twice that for hours is rare"),
        Parameter.of(LearnedSettings, "min_surprise, max_surprise", "robust z",
                     "engineering choice: tuned on NAB with one config for all 58 files (docs/evaluation.md)"),
        Parameter.of(LearnedSettings, "smooth_readings, warmup_readings, warmup_s", "readings, s",
                     "engineering choice: one odd reading is noise; a daily cycle is learned before judging; "
                     "100 readings suffice for a robust level and error at any reading rate"),
        Parameter.of(LearnedSettings, "adapt_after_s, hold_s", "s",
                     "engineering choice (NAB): one alarm per burst; a new operating point is relearned, not alarmed"),
        Parameter.of(LearnedSettings, "level_s, error_s, scale_floor", "s, fraction of spread",
                     "engineering choice: slow level so daily/weekly patterns go to the pattern tables"),
    ),
)
