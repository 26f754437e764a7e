"""What a replay found, in numbers an alarm-rationalisation meeting uses: counts per rule and ISA-18.2 KPIs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from collector.evaluation.replay.events_out import kpi_records
from collector.evaluation.replay.runner import ReplayResult
from detectors.alarms.kpi import AlarmKpis, compute_kpis
from hazwatch.config.registry import SensorRegistry
from hazwatch.events import Transition


@dataclass
class ReplaySummary:
    label: str
    readings: int
    wall_s: float
    readings_per_s: float
    data_s: float
    raises: Counter
    """(category, rule) → activations."""
    alarmed: set[tuple[str, str]]
    """(sensor key, rule) pairs that raised at least once."""
    kpis: AlarmKpis

    @property
    def activations(self) -> int:
        return sum(self.raises.values())


def summarise(label: str, result: ReplayResult, registry: SensorRegistry) -> ReplaySummary:
    raised = [e for e in result.events if e.transition is Transition.RAISE]
    return ReplaySummary(
        label=label,
        readings=result.readings,
        wall_s=result.wall_s,
        readings_per_s=result.readings_per_s,
        data_s=result.data_s,
        raises=Counter((e.category, e.rule) for e in raised),
        alarmed={(registry.sensors[e.slot].key, e.rule) for e in raised},
        kpis=compute_kpis(kpi_records(result.events, registry), start_ns=result.first_ns, end_ns=result.last_ns),
    )


def kpi_rows(summaries: list[ReplaySummary]) -> list[tuple[str, list[str]]]:
    """Rows of a side-by-side table: (measure, one cell per summary)."""

    def each(fn) -> list[str]:
        return [fn(s) for s in summaries]

    return [
        ("readings", each(lambda s: f"{s.readings:,}")),
        ("alarm activations", each(lambda s: str(s.kpis.alarms))),
        ("  process", each(lambda s: str(sum(n for (c, _), n in s.raises.items() if c == "process")))),
        ("  health", each(lambda s: str(sum(n for (c, _), n in s.raises.items() if c == "health")))),
        ("alarms / 10 min (mean)", each(lambda s: f"{s.kpis.per_10min_mean:.2f}")),
        ("alarms / 10 min (max)", each(lambda s: str(s.kpis.per_10min_max))),
        ("time in flood", each(lambda s: f"{s.kpis.flood_percent_time:.1f} %")),
        ("flood periods", each(lambda s: str(len(s.kpis.flood_periods)))),
        ("chattering alarms", each(lambda s: str(len(s.kpis.chattering)))),
        ("stale alarms", each(lambda s: str(len(s.kpis.stale)))),
        (
            "priority split",
            each(lambda s: " / ".join(f"{p} {v:.0f}%" for p, v in sorted(s.kpis.priority_split.items()))),
        ),
        (
            "top bad actor",
            each(lambda s: f"{s.kpis.bad_actors[0][0]} ×{s.kpis.bad_actors[0][1]}" if s.kpis.bad_actors else "-"),
        ),
    ]


def rule_rows(summaries: list[ReplaySummary]) -> list[tuple[str, list[int]]]:
    rules = sorted({key for s in summaries for key in s.raises})
    return [(f"{category} {rule}", [s.raises.get((category, rule), 0) for s in summaries]) for category, rule in rules]


def only_in(first: ReplaySummary, second: ReplaySummary) -> list[tuple[str, str]]:
    """(sensor, rule) alarms the first replay raised and the second did not."""
    return sorted(first.alarmed - second.alarmed)
