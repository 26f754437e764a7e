"""health.reads_zero: a gas head that reads zero for minutes on end — a tampered or blocked head.

DOMAIN.md §3 reports the case regulators find: a methane head stuck at 0.00 (covered, wrapped, its
diffusion path blocked) while the face it should watch has gas. Face methane never rests at zero in a
ventilated working (DOMAIN.md §4: baseline 0.2–0.6 %, noise σ 0.01–0.02 %), so a head reading within the
zero band for `after_s` is not atmosphere. `health.disagreement` catches the case only when a neighbour
on the same airflow path alarms; `health.stuck` only after an hour and only for an exact flat line. This
rule needs no neighbour and tolerates noise inside the band.

Off unless a sensor asks for it (`detect.rules.reads_zero`): on heads where clean air is normal (a CO
head in fresh intake air) zero is the right reading. It never suppresses process alarms: the head may be
lying, and the methane cut must never wait on a verdict about it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import Field

from detectors.alarms.conditions import ConditionChange
from detectors.engine.declaration import Parameter, Phase, RuleDeclaration
from detectors.engine.frame import NEVER, Frame, Series
from detectors.engine.members import Members
from detectors.engine.rule import Rule
from detectors.engine.scan import changed_cells, run_start
from detectors.engine.setup import Setup
from detectors.rules.health import ZERO_BAND_FRACTION
from hazwatch.config.limits import StrictModel

READS_ZERO = "health.reads_zero"


class ReadsZeroSettings(StrictModel):
    """`detect.rules.reads_zero` of a sensor: present means on."""

    after_s: float = Field(default=600.0, gt=0, description="reading within the zero band this long raises")
    band_fraction: float = Field(
        default=ZERO_BAND_FRACTION, gt=0, le=0.1, description="'zero' is within this fraction of the range"
    )


class ReadsZeroDetector(Rule):
    """Per member: when its current run of zero readings began; raised once the run is `after_s` long."""

    def __init__(
        self, after_s: np.ndarray, band: np.ndarray, labels: Sequence[str], units: Sequence[str] | None = None
    ) -> None:
        n = len(labels)
        self.n_slots = n
        self.labels = labels
        self.units = units if units is not None else [""] * n
        members = np.flatnonzero(np.isfinite(after_s))
        self.members = members
        self.located = Members(n if len(members) else 0, members)
        """Where a frame holds the members; no per-slot index at all when no sensor asks for the rule."""
        self.after_ns = (after_s[members] * 1e9).astype(np.int64)
        self.band = band[members]
        self.zero = np.zeros(len(members), dtype=bool)
        self.since = np.full(len(members), NEVER, dtype=np.int64)
        self.level = np.zeros(len(members), dtype=np.int8)

    def update_frame(self, frame: Frame, series: Series) -> list[ConditionChange]:
        if not len(self.members):
            return []
        picked, rows = self.located.locate(series)
        t = series.time[:, picked]
        v = series.value[:, picked]
        if not t.size:
            return []
        zero = np.abs(v) <= self.band[rows]  # NaN (no good reading yet) is not zero
        since = run_start(zero, self.zero[rows], t, self.since[rows])
        level = (zero & (t - since >= self.after_ns[rows])).astype(np.int8)
        at_rows, at_columns = changed_cells(level, self.level[rows])
        self.zero[rows] = zero[-1]
        self.since[rows] = since[-1]
        self.level[rows] = level[-1]
        members = self.members[rows]
        return [
            self._change(int(members[c]), int(level[r, c]), float(v[r, c]), int(t[r, c]))
            for r, c in zip(at_rows.tolist(), at_columns.tolist(), strict=True)
        ]

    def _change(self, slot: int, level: int, value: float, time_ns: int) -> ConditionChange:
        after_s = float(self.after_ns[self.located.row[slot]] / 1e9)
        label, unit = self.labels[slot], self.units[slot]
        message = (
            f"{label} has read {value:.4g} {unit} for {after_s:g} s: tampered or blocked head?"
            if level
            else f"{label}: reads_zero cleared"
        )
        return ConditionChange(
            slot=slot,
            rule=READS_ZERO,
            category="health",
            level=level,
            level_name="reads_zero" if level else "normal",
            priority="medium",
            value=value,
            limit=after_s,
            time_ns=time_ns,
            message=message,
        )


def reads_zero_detector(setup: Setup) -> ReadsZeroDetector:
    n = len(setup.registry)
    after_s = np.full(n, np.nan)
    band = np.zeros(n)
    for s in setup.registry:
        settings = setup.rule_settings(s, "reads_zero", ReadsZeroSettings)
        if settings is not None:
            after_s[s.slot] = settings.after_s
            band[s.slot] = settings.band_fraction * (s.range_max - s.range_min)
    return ReadsZeroDetector(after_s, band, setup.labels, setup.units)


RULE = RuleDeclaration(
    name="reads_zero",
    phase=Phase.HEALTH,
    build=reads_zero_detector,
    settings=ReadsZeroSettings,
    parameters=(
        Parameter("after_s", "600 (off unless detect.rules.reads_zero is set)", "s",
                  "engineering choice: far longer than any dip of a ventilated face (DOMAIN.md §4 baseline "
                  "0.2–0.6 %), far shorter than health.stuck's hour; DOMAIN.md §3 tampered head at 0.00"),
        Parameter("band_fraction", "0.0025 (0.01 % CH4 on a 0–4 % head)", "fraction of range",
                  "the airflow-path check's 'reads zero' (health.ZERO_BAND_FRACTION), inside the head's "
                  "±0.10 % error (DOMAIN.md §3)"),
    ),
)
