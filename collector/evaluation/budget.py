"""The alarm budget: how many alarms per sensor-day each adaptive rule spends on data that should be quiet.

ISA-18.2 asks for at most one alarm per ten minutes per operator in normal operation; an operator
watching a few hundred sensors can therefore afford only a fraction of an alarm per sensor-day from
the rules that judge by what they learned (trend, learned normal). The learned rule's threshold is
calibrated to its configured `budget_per_day` (detectors/rules/learned.py); this module measures what
the rules actually spend on normal data — SKAB's anomaly-free run and the scenario suite's sensors
that have no reason to alarm — so `hazwatch evaluate` can print it next to the budget.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow.csv as pa_csv

from collector.evaluation import skab
from collector.evaluation.replay.runner import ReplayRunner
from collector.evaluation.replay.stack import build_stack
from detectors.rules.learned import LearnedSettings
from hazwatch.batch import ReadingBatch
from hazwatch.config.loader import parse_config
from hazwatch.config.registry import SensorRegistry
from hazwatch.events import AlarmEvent, Transition

BUDGETED_RULES = ("trend.", "learned.")
DAY_NS = 86_400 * 1_000_000_000


def budget_per_day() -> float:
    """The configured default budget (the learned rule's `budget_per_day`)."""
    return LearnedSettings().budget_per_day


def spend(
    events: Iterable[AlarmEvent], slots: Sequence[int], start_ns: int, end_ns: int
) -> dict[str, dict[str, float]]:
    """Raises of the budgeted rules on `slots` between start and end, per rule, with the sensor-days they cover."""
    watched = set(slots)
    sensor_days = len(watched) * max(end_ns - start_ns, 0) / DAY_NS
    counts: dict[str, int] = {}
    for e in events:
        if e.transition is Transition.RAISE and e.slot in watched and e.rule.startswith(BUDGETED_RULES):
            counts[e.rule] = counts.get(e.rule, 0) + 1
    return {
        rule: {"alarms": n, "sensor_days": round(sensor_days, 4), "per_sensor_day": _rate(n, sensor_days)}
        for rule, n in sorted(counts.items())
    } | {"all": {"alarms": sum(counts.values()), "sensor_days": round(sensor_days, 4),
                 "per_sensor_day": _rate(sum(counts.values()), sensor_days)}}


def spend_by_area(
    events: Iterable[AlarmEvent], registry: SensorRegistry, slots: Sequence[int], start_ns: int, end_ns: int
) -> dict[str, dict[str, float]]:
    """`spend`'s "all" per area ("site/area"): an operator answers for an area, so one noisy area must show even
    when the whole site is within budget."""
    events = list(events)
    by_area: dict[str, list[int]] = {}
    for slot in slots:
        info = registry.sensors[slot]
        by_area.setdefault(f"{info.site}/{info.area}", []).append(slot)
    return {area: spend(events, members, start_ns, end_ns)["all"] for area, members in sorted(by_area.items())}


def area_totals(per_area: Iterable[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per-area spends of several runs (the scenario suite's), summed per area."""
    alarms: dict[str, int] = {}
    sensor_days: dict[str, float] = {}
    for spent in per_area:
        for area, figures in spent.items():
            alarms[area] = alarms.get(area, 0) + int(figures["alarms"])
            sensor_days[area] = sensor_days.get(area, 0.0) + float(figures["sensor_days"])
    return {
        area: {"alarms": n, "sensor_days": round(sensor_days[area], 4), "per_sensor_day": _rate(n, sensor_days[area])}
        for area, n in sorted(alarms.items())
    }


def over_budget(per_area: dict[str, dict[str, float]], budget: float) -> list[str]:
    """The areas spending more than the budget per sensor-day, worst first."""
    over = [area for area, figures in per_area.items() if figures["per_sensor_day"] > budget]
    return sorted(over, key=lambda area: -per_area[area]["per_sensor_day"])


def _rate(alarms: int, sensor_days: float) -> float:
    return round(alarms / sensor_days, 4) if sensor_days > 0 else 0.0


def skab_normal(data_dir: Path | None = None) -> dict[str, object]:
    """SKAB's anomaly-free run through the stack, each channel a generic sensor (learned normal on)."""
    path = skab.skab_dir(data_dir) / "anomaly-free" / "anomaly-free.csv"
    if not path.is_file():
        raise skab.SkabDataMissing(f"SKAB anomaly-free file not found at {path}")
    table = pa_csv.read_csv(path, parse_options=pa_csv.ParseOptions(delimiter=";"))
    values = np.column_stack([table[c].to_numpy().astype(np.float64) for c in skab.CHANNELS])
    ids = [re.sub(r"[^A-Za-z0-9_.\-]", "_", c) for c in skab.CHANNELS]
    config = parse_config(
        {
            "sites": [
                {
                    "id": "skab",
                    "type": "chemical_plant",
                    "areas": [{"id": "rig", "kind": "process_unit", "sensors": [
                        {"id": sensor, "kind": "generic"} for sensor in ids
                    ]}],
                }
            ]
        },
        source="SKAB anomaly-free",
    )
    registry = SensorRegistry.from_config(config).with_poll_intervals(dict.fromkeys(range(len(ids)), 1.0))
    rows, channels = values.shape
    time_ns = table["datetime"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    batch = ReadingBatch.from_columns(
        np.tile(np.arange(channels, dtype=np.int32), rows),
        np.repeat(time_ns, channels),
        values.ravel(),
        np.zeros(rows * channels, dtype=np.uint8),
    )
    events = ReplayRunner(build_stack(config, registry), batch_s=1.0, tick_s=1.0).run([batch]).events
    return {
        "rows": rows,
        "sensors": channels,
        "spend": spend(events, range(channels), int(time_ns[0]), int(time_ns[-1])),
        "by_area": spend_by_area(events, registry, range(channels), int(time_ns[0]), int(time_ns[-1])),
    }


def scenario_totals(scenarios: Sequence[dict[str, object]]) -> dict[str, dict[str, float]]:
    """The scenario suite's spends (each scenario's `budget`), summed over scenarios."""
    alarms: dict[str, int] = {}
    sensor_days = 0.0
    for result in scenarios:
        spent = result.get("budget", {})
        sensor_days += spent.get("all", {}).get("sensor_days", 0.0)
        for rule, figures in spent.items():
            alarms[rule] = alarms.get(rule, 0) + int(figures["alarms"])
    alarms.setdefault("all", 0)
    return {
        rule: {"alarms": n, "sensor_days": round(sensor_days, 4), "per_sensor_day": _rate(n, sensor_days)}
        for rule, n in sorted(alarms.items())
    }
