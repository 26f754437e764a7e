"""ISA-18.2 / EEMUA 191 alarm-system KPIs, computed from a recorded alarm event stream.

These numbers tell a site whether its alarm system helps or floods its operators: about one
alarm per 10 minutes is manageable, more than 10 in 10 minutes is a flood (it ends when the
rate falls below 5), three activations within 60 s is chattering, active for more than 24 h
is stale, and a handful of "bad actors" usually cause most of the load. Offline analysis, so
plain Python over sorted arrays is fine here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from hazwatch.config.registry import SensorRegistry
from hazwatch.events import AlarmEvent

NS = 1_000_000_000
ACTIVATION = "raise"
ENDINGS = frozenset({"clear", "reset"})


@dataclass(frozen=True, slots=True)
class KpiRecord:
    """The part of an alarm event the KPIs need; `key` names one alarm (site/sensor/rule)."""

    key: str
    transition: str
    priority: str
    time_ns: int


def kpi_record(event: AlarmEvent, registry: SensorRegistry) -> KpiRecord:
    """The KPI view of one event: the alarm is named site/sensor/rule."""
    key = f"{registry.sensors[event.slot].key}/{event.rule}"
    return KpiRecord(key, event.transition.value, event.priority, event.time_ns)


@dataclass(frozen=True, slots=True)
class FloodPeriod:
    start_ns: int
    end_ns: int
    alarms: int


@dataclass(frozen=True, slots=True)
class StaleAlarm:
    key: str
    raised_ns: int
    active_hours: float


@dataclass(slots=True)
class AlarmKpis:
    start_ns: int
    end_ns: int
    alarms: int
    per_10min_mean: float
    per_10min_max: int
    flood_periods: list[FloodPeriod] = field(default_factory=list)
    flood_percent_time: float = 0.0
    chattering: dict[str, int] = field(default_factory=dict)
    """key -> most activations seen within the chattering window."""
    stale: list[StaleAlarm] = field(default_factory=list)
    bad_actors: list[tuple[str, int]] = field(default_factory=list)
    priority_split: dict[str, float] = field(default_factory=dict)
    """priority -> percent of activations (target about 80 / 15 / 5 low / medium / high)."""

    alarms_last_interval: int = 0
    """Activations in the last `interval_s` before `end_ns`: the live 'alarms per 10 min' figure."""
    per_interval: list[int] = field(default_factory=list)
    """Activations in each `interval_s` from `start_ns`, oldest first (the alarm-rate plot)."""

    @property
    def hours(self) -> float:
        return (self.end_ns - self.start_ns) / NS / 3600

    def to_dict(self) -> dict[str, object]:
        return asdict(self) | {"hours": self.hours}


def compute_kpis(
    records: Iterable[KpiRecord],
    start_ns: int | None = None,
    end_ns: int | None = None,
    interval_s: float = 600.0,
    flood_start_above: int = 10,
    flood_end_below: int = 5,
    chatter_count: int = 3,
    chatter_window_s: float = 60.0,
    stale_after_s: float = 86_400.0,
    top: int = 10,
) -> AlarmKpis:
    """KPIs over [start_ns, end_ns] (defaults: the first and last event); activations are `raise` events."""
    ordered = sorted(records, key=lambda r: r.time_ns)
    if start_ns is None:
        start_ns = ordered[0].time_ns if ordered else 0
    if end_ns is None:
        end_ns = ordered[-1].time_ns if ordered else start_ns
    raises = [r for r in ordered if r.transition == ACTIVATION and start_ns <= r.time_ns <= end_ns]
    times = np.array([r.time_ns for r in raises], dtype=np.int64)
    interval_ns = int(interval_s * NS)

    n_intervals = max(1, int(np.ceil((end_ns - start_ns) / interval_ns)) if end_ns > start_ns else 1)
    buckets = np.bincount(np.minimum((times - start_ns) // interval_ns, n_intervals - 1), minlength=n_intervals)
    floods = _flood_periods(times, interval_ns, flood_start_above, flood_end_below, end_ns)
    span = max(end_ns - start_ns, 1)
    flood_ns = sum(p.end_ns - p.start_ns for p in floods)

    by_key: dict[str, list[int]] = defaultdict(list)
    for r in raises:
        by_key[r.key].append(r.time_ns)
    chattering = {}
    window_ns = int(chatter_window_s * NS)
    for key, key_times in by_key.items():
        most = _most_within(np.array(key_times, dtype=np.int64), window_ns)
        if most >= chatter_count:
            chattering[key] = most

    priorities = Counter(r.priority for r in raises)
    return AlarmKpis(
        start_ns=start_ns,
        end_ns=end_ns,
        alarms=len(raises),
        per_10min_mean=float(len(raises) / n_intervals),
        per_10min_max=int(buckets.max()) if len(buckets) else 0,
        flood_periods=floods,
        flood_percent_time=100.0 * flood_ns / span,
        chattering=chattering,
        stale=_stale(ordered, end_ns, int(stale_after_s * NS)),
        bad_actors=Counter({k: len(v) for k, v in by_key.items()}).most_common(top),
        priority_split={p: 100.0 * n / len(raises) for p, n in priorities.most_common()},
        alarms_last_interval=int(np.count_nonzero(times > end_ns - interval_ns)),
        per_interval=buckets.tolist(),
    )


def _flood_periods(
    times: np.ndarray, window_ns: int, start_above: int, end_below: int, end_ns: int
) -> list[FloodPeriod]:
    """Sweep the trailing-window count: it rises at each activation and falls one window later."""
    arrivals = [(int(t), 1) for t in times]
    departures = [(int(t) + window_ns, -1) for t in times]
    # At one instant, departures first: the trailing window is (t - window, t].
    sweep = sorted(arrivals + departures, key=lambda item: (item[0], item[1]))
    periods: list[FloodPeriod] = []
    count = 0
    flood_start: int | None = None
    flood_alarms = 0
    for t, step in sweep:
        count += step
        if step > 0 and flood_start is not None:
            flood_alarms += 1
        if flood_start is None and count > start_above:
            flood_start, flood_alarms = t, count
        elif flood_start is not None and count < end_below:
            periods.append(FloodPeriod(flood_start, min(t, end_ns), flood_alarms))
            flood_start = None
    if flood_start is not None:
        periods.append(FloodPeriod(flood_start, end_ns, flood_alarms))
    return periods


def _most_within(times: np.ndarray, window_ns: int) -> int:
    if len(times) == 0:
        return 0
    times = np.sort(times)
    ends = np.searchsorted(times, times + window_ns, side="left")
    return int((ends - np.arange(len(times))).max())


def _stale(ordered: list[KpiRecord], end_ns: int, stale_ns: int) -> list[StaleAlarm]:
    """An alarm active (raised, not yet cleared or reset) for longer than `stale_ns`."""
    open_since: dict[str, int] = {}
    stale: list[StaleAlarm] = []
    for r in ordered:
        if r.transition == ACTIVATION:
            open_since.setdefault(r.key, r.time_ns)
        elif r.transition in ENDINGS and r.key in open_since:
            raised = open_since.pop(r.key)
            if r.time_ns - raised > stale_ns:
                stale.append(StaleAlarm(r.key, raised, (r.time_ns - raised) / NS / 3600))
    for key, raised in open_since.items():
        if end_ns - raised > stale_ns:
            stale.append(StaleAlarm(key, raised, (end_ns - raised) / NS / 3600))
    return stale
