"""The Skoltech Anomaly Benchmark (SKAB): load its files, run a detector the benchmark's way, score it.

Scoring follows the benchmark's own definitions (its `tsad` evaluator, as summarised in
shared/data/README.md) so our figures sit honestly beside its published leaderboard:

- the first FIT_ROWS rows of each file calibrate the detector and are never scored;
- outlier task: per-row confusion counts summed over all files, then F1 = TP / (TP + (FP + FN)/2),
  FAR = FP / (FP + TN) · 100, MAR = FN / (FN + TP) · 100;
- changepoint task (NAB-style): predicted changepoints are the rows where the binary alarm changes;
  each true changepoint opens a 60 s window to its right (an overlapping later window starts where
  the earlier one ends); the first prediction in a window scores on the benchmark's tanh curve,
  predictions outside every window cost the false-positive weight, an empty window costs the miss
  weight; score, null score and perfect score are summed over files before normalising.

The data are GPL-3.0 and stay where the project's shared data live: nothing is copied.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow.csv as pa_csv

from detectors.rules.multivariate import MultivariateDetector, MultivariateParams

FIT_ROWS = 400
WINDOW_S = 60.0
CHANNELS = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)
EXPERIMENT_FOLDERS = ("valve1", "valve2", "other")
EXPECTED_FILES = 34


@dataclass(frozen=True)
class NabProfile:
    name: str
    tp: float
    fp: float
    miss: float


PROFILES = (
    NabProfile("standard", 1.0, -0.11, -1.0),
    NabProfile("low_fp", 1.0, -0.22, -1.0),
    NabProfile("low_fn", 1.0, -0.11, -2.0),
)

LEADERBOARD: tuple[tuple[str, float, float, float, float], ...] = (
    ("Conv-AE", 0.78, 13.55, 28.02, 23.61),
    ("MSET", 0.78, 39.73, 14.13, 13.84),
    ("T² + Q (PCA)", 0.76, 26.62, 24.92, 25.35),
    ("LSTM-AE", 0.74, 29.96, 25.92, 23.51),
    ("T² (PCA)", 0.66, 19.21, 42.60, 19.54),
    ("MSCRED", 0.36, 49.94, 69.88, 32.42),
    ("Isolation forest", 0.29, 2.56, 82.89, 26.16),
    ("Null (never alarms)", 0.0, 0.0, 100.0, 0.0),
)
"""Published rows (test part) from the benchmark's README: (detector, F1, FAR %, MAR %, changepoint standard)."""


class SkabDataMissing(FileNotFoundError):
    """The SKAB folder is not where the project expects its shared data."""


@dataclass(frozen=True)
class SkabFile:
    """One experiment: 1 Hz rows of the rig's 8 channels and the benchmark's two label columns."""

    name: str
    time_s: np.ndarray
    """Unix seconds (int64); the rig's clock skips a second now and then, so windows use these, not row counts."""
    values: np.ndarray
    """float64, shape (rows, 8), columns in CHANNELS order."""
    anomaly: np.ndarray
    changepoint: np.ndarray


def default_data_dir() -> Path:
    """HAZWATCH_DATA_DIR if set, else the nearest shared/data folder beside the checkout or one of its parents
    (../shared/data for a checkout, ../../shared/data for a worktree kept in a folder of worktrees)."""
    override = os.environ.get("HAZWATCH_DATA_DIR")
    if override:
        return Path(override)
    project_root = Path(__file__).resolve().parents[2]
    for parent in project_root.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return project_root.parent / "shared" / "data"


def skab_dir(data_dir: Path | None = None) -> Path:
    return (data_dir or default_data_dir()) / "skab"


def _experiment_key(path: Path) -> tuple[int, int]:
    return EXPERIMENT_FOLDERS.index(path.parent.name), int(path.stem)


def load_file(path: Path) -> SkabFile:
    table = pa_csv.read_csv(path, parse_options=pa_csv.ParseOptions(delimiter=";"))
    missing = [c for c in ("datetime", *CHANNELS, "anomaly", "changepoint") if c not in table.column_names]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    time_s = table["datetime"].to_numpy().astype("datetime64[s]").astype(np.int64)
    values = np.column_stack([table[c].to_numpy().astype(np.float64) for c in CHANNELS])
    return SkabFile(
        name=f"{path.parent.name}/{path.stem}",
        time_s=time_s,
        values=values,
        anomaly=table["anomaly"].to_numpy() == 1,
        changepoint=table["changepoint"].to_numpy() == 1,
    )


def load_experiments(data_dir: Path | None = None) -> list[SkabFile]:
    """The 34 labelled experiments (not the anomaly-free file), in a fixed order: valve1, valve2, other."""
    root = skab_dir(data_dir)
    if not root.is_dir():
        raise SkabDataMissing(f"SKAB data not found at {root} (set HAZWATCH_DATA_DIR to the folder holding skab/)")
    paths = sorted((p for folder in EXPERIMENT_FOLDERS for p in (root / folder).glob("*.csv")), key=_experiment_key)
    if len(paths) != EXPECTED_FILES:
        raise SkabDataMissing(f"expected {EXPECTED_FILES} SKAB experiment files under {root}, found {len(paths)}")
    return [load_file(p) for p in paths]


# ---- outlier task -------------------------------------------------------------------------------


@dataclass
class OutlierCounts:
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    def add(self, truth: np.ndarray, alarm: np.ndarray) -> None:
        truth = np.asarray(truth, dtype=bool)
        alarm = np.asarray(alarm, dtype=bool)
        self.tp += int(np.count_nonzero(truth & alarm))
        self.fp += int(np.count_nonzero(~truth & alarm))
        self.tn += int(np.count_nonzero(~truth & ~alarm))
        self.fn += int(np.count_nonzero(truth & ~alarm))

    @property
    def f1(self) -> float:
        denominator = self.tp + (self.fp + self.fn) / 2
        return self.tp / denominator if denominator else 0.0

    @property
    def far(self) -> float:
        negatives = self.fp + self.tn
        return 100.0 * self.fp / negatives if negatives else 0.0

    @property
    def mar(self) -> float:
        positives = self.fn + self.tp
        return 100.0 * self.fn / positives if positives else 0.0


# ---- changepoint task ---------------------------------------------------------------------------


def predicted_changepoints(alarm: np.ndarray) -> np.ndarray:
    """Rows where the binary alarm changes value; the first row has no predecessor and is never one."""
    alarm = np.asarray(alarm, dtype=np.int8)
    changes = np.zeros(len(alarm), dtype=bool)
    changes[1:] = alarm[1:] != alarm[:-1]
    return changes


def detection_windows(time_s: np.ndarray, changepoint: np.ndarray, width_s: float = WINDOW_S) -> np.ndarray:
    """[start, end] (seconds, both inclusive) to the right of each true changepoint.

    Where a window reaches into the next one, the later window starts where the earlier one ends
    (the benchmark's 'cut right window'), so a prediction is credited to the earlier changepoint.
    """
    starts = np.asarray(time_s, dtype=np.float64)[np.asarray(changepoint, dtype=bool)]
    windows = np.column_stack([starts, starts + width_s])
    for i in range(len(windows) - 1):
        if windows[i, 1] >= windows[i + 1, 0]:
            windows[i + 1, 0] = windows[i, 1]
    return windows


def tanh_weight(offset_fraction: float, profile: NabProfile) -> float:
    """The benchmark's scaled tanh: profile.tp at the window's start, profile.fp at its end.

    Evaluated on the benchmark's 1000-point grid so a detection scores exactly as the published
    evaluator scores it.
    """
    grid = np.linspace(-np.pi / 2, np.pi / 2, 1000)
    index = min(int(offset_fraction * 1000), 999)
    span = profile.tp - profile.fp
    return float(span / 2 * -np.tanh(grid[index]) / np.tanh(np.pi / 2) + span / 2 + profile.fp)


@dataclass
class NabTotals:
    """Per profile: achieved, null (no detection) and perfect scores, summed over files."""

    score: dict[str, float] = field(default_factory=lambda: {p.name: 0.0 for p in PROFILES})
    null: dict[str, float] = field(default_factory=lambda: {p.name: 0.0 for p in PROFILES})
    perfect: dict[str, float] = field(default_factory=lambda: {p.name: 0.0 for p in PROFILES})
    windows: int = 0
    detected: int = 0
    false_positives: int = 0

    def add(self, time_s: np.ndarray, true_changepoint: np.ndarray, predicted: np.ndarray) -> None:
        time_s = np.asarray(time_s, dtype=np.float64)
        windows = detection_windows(time_s, true_changepoint)
        predicted_times = time_s[np.asarray(predicted, dtype=bool)]
        inside_any = np.zeros(len(predicted_times), dtype=bool)
        first_offsets: list[float | None] = []
        for start, end in windows:
            inside = (predicted_times >= start) & (predicted_times <= end)
            inside_any |= inside
            first_offsets.append(float((predicted_times[inside][0] - start) / (end - start)) if inside.any() else None)
        false_positives = int(np.count_nonzero(~inside_any))
        self.windows += len(windows)
        self.detected += sum(o is not None for o in first_offsets)
        self.false_positives += false_positives
        for profile in PROFILES:
            score = profile.fp * false_positives
            score += sum(profile.miss if o is None else tanh_weight(o, profile) for o in first_offsets)
            self.score[profile.name] += score
            self.null[profile.name] += profile.miss * len(windows)
            self.perfect[profile.name] += profile.tp * len(windows)

    def normalised(self, profile: str) -> float:
        """100 · (S − S_null) / (S_perfect − S_null): 0 for a detector that never alarms, 100 for a perfect one."""
        span = self.perfect[profile] - self.null[profile]
        return 100.0 * (self.score[profile] - self.null[profile]) / span if span else 0.0


# ---- running a detector the benchmark's way -----------------------------------------------------


class RowDetector(Protocol):
    """What the benchmark runner needs from a detector (detectors.rules.multivariate.MultivariateDetector fits)."""

    def fit(self, rows: np.ndarray) -> object: ...

    def update(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class FileResult:
    name: str
    time_s: np.ndarray
    """Scored rows only (after the fit window)."""
    alarm: np.ndarray
    changepoint_pred: np.ndarray
    counts: OutlierCounts


@dataclass
class SkabResult:
    files: list[FileResult]
    counts: OutlierCounts
    nab: NabTotals
    detector: str = ""
    parameters: dict[str, object] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        return {
            "files": len(self.files),
            "detector": self.detector,
            "parameters": self.parameters,
            "f1": round(self.counts.f1, 4),
            "far": round(self.counts.far, 2),
            "mar": round(self.counts.mar, 2),
            "changepoint_standard": round(self.nab.normalised("standard"), 2),
            "changepoint_low_fp": round(self.nab.normalised("low_fp"), 2),
            "changepoint_low_fn": round(self.nab.normalised("low_fn"), 2),
            "tp": self.counts.tp,
            "fp": self.counts.fp,
            "tn": self.counts.tn,
            "fn": self.counts.fn,
            "changepoint_windows": self.nab.windows,
            "changepoint_windows_detected": self.nab.detected,
            "changepoint_false_positives": self.nab.false_positives,
        }


def score_files(
    experiments: Sequence[SkabFile], alarms: Iterable[np.ndarray], fit_rows: int = FIT_ROWS
) -> tuple[list[FileResult], OutlierCounts, NabTotals]:
    """Score per-row alarms (one array per file, for the scored rows after fit_rows) with both tasks."""
    counts, nab, results = OutlierCounts(), NabTotals(), []
    for experiment, alarm in zip(experiments, alarms, strict=True):
        alarm = np.asarray(alarm, dtype=bool)
        time_s = experiment.time_s[fit_rows:]
        if len(alarm) != len(time_s):
            raise ValueError(f"{experiment.name}: {len(alarm)} alarms for {len(time_s)} scored rows")
        file_counts = OutlierCounts()
        file_counts.add(experiment.anomaly[fit_rows:], alarm)
        counts.add(experiment.anomaly[fit_rows:], alarm)
        changes = predicted_changepoints(alarm)
        nab.add(time_s, experiment.changepoint[fit_rows:], changes)
        results.append(FileResult(experiment.name, time_s, alarm, changes, file_counts))
    return results, counts, nab


def evaluate(
    experiments: Sequence[SkabFile],
    make_detector: Callable[[], RowDetector],
    fit_rows: int = FIT_ROWS,
) -> list[np.ndarray]:
    """Fit a fresh detector on each file's first fit_rows rows and stream the rest through it."""
    alarms = []
    for experiment in experiments:
        detector = make_detector()
        detector.fit(experiment.values[:fit_rows])
        _, alarm = detector.update(experiment.values[fit_rows:])
        alarms.append(alarm)
    return alarms


# ---- the detectors evaluated, and writing predictions for re-scoring -----------------------------

RATE_CHANNELS = tuple(CHANNELS.index(c) for c in ("Temperature", "Thermocouple"))
"""Pump-body and fluid temperatures drift for minutes as the rig warms: they enter as rates."""

DETECTORS: dict[str, MultivariateParams] = {
    "hazwatch": MultivariateParams(rate_channels=RATE_CHANNELS),
    "pca-baseline": MultivariateParams(
        level_alpha=1.0,
        target_false_alarm_rate=0.02,
        control_limits=False,
        on_count=1,
        on_window=1,
        off_count=1,
        warmup_rows=0,
    ),
}
"""'hazwatch' is the shipped detector; 'pca-baseline' is plain PCA T²/Q on raw standardised rows
with 99th-percentile calibration limits (1 % of rows for each statistic) and no smoothing or persistence,
for comparison."""


def run(detector: str = "hazwatch", data_dir: Path | None = None, false_alarm_rate: float | None = None) -> SkabResult:
    """Load the 34 experiments, run the named detector the benchmark's way and score it; `false_alarm_rate`
    overrides the detector's target false-alarm rate (docs/detectors.md: how SKAB fares at each)."""
    params = DETECTORS[detector]
    if false_alarm_rate is not None:
        params = replace(params, target_false_alarm_rate=false_alarm_rate)
    experiments = load_experiments(data_dir)
    alarms = evaluate(experiments, lambda: MultivariateDetector(params))
    files, counts, nab = score_files(experiments, alarms)
    return SkabResult(files, counts, nab, detector=detector, parameters=asdict(params))


def write_predictions(result: SkabResult, out_dir: Path) -> list[Path]:
    """One CSV per experiment (same folder/name as the benchmark's), `;`-separated like its data."""
    written = []
    for file in result.files:
        path = out_dir / f"{file.name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        stamps = file.time_s.astype("datetime64[s]").astype(str)
        with path.open("w", encoding="utf-8") as handle:
            handle.write("datetime;anomaly_pred;changepoint_pred\n")
            handle.writelines(
                f"{stamp.replace('T', ' ')};{int(a)};{int(c)}\n"
                for stamp, a, c in zip(stamps, file.alarm, file.changepoint_pred, strict=True)
            )
        written.append(path)
    return written
