"""The Numenta Anomaly Benchmark (NAB): its 58 series, its scoring rule, and hazwatch run on it the benchmark's way.

Scoring follows NAB's own sweeper (numenta/NAB, nab/sweeper.py at the data's commit), vectorised:

- the first 15 % of each file (at most 750 rows) is the probationary period: never scored;
- a row inside a labelled window scores on a scaled sigmoid of its position in the window
  (+1·tp at the window's left edge, falling towards 0 at its right edge); a window's score is the best
  of its detections (the earliest), or −fn when it has none;
- a detection outside every window costs fp times a sigmoid of its distance past the previous
  window's right edge (−fp far from any window, less just after one);
- per profile the raw score, summed over files, is normalised to 100·(S − S_null)/(S_perfect − S_null),
  where the null detector misses every window and the perfect one detects each at its left edge.

A detector's per-row anomaly scores become detections at the profile's threshold (score ≥ threshold),
as NAB scores its published results; hazwatch's detections are its alarm raises, one per alarm, as an
operator would see them. The data (MIT, Lavin & Ahmad 2015) stay in the shared data folder.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.csv as pa_csv

from collector.evaluation.replay.runner import ReplayRunner, auto_batch_s, cadence_s
from collector.evaluation.replay.stack import build_stack
from collector.evaluation.skab import default_data_dir
from hazwatch.batch import ReadingBatch
from hazwatch.config.loader import parse_config
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import HazwatchConfig
from hazwatch.events import Transition

PROBATION_FRACTION = 0.15
PROBATION_MAX_ROWS = 750
"""NAB: min(floor(0.15 · rows), 0.15 · 5000)."""
CATEGORIES = (
    "artificialNoAnomaly",
    "artificialWithAnomaly",
    "realAWSCloudwatch",
    "realAdExchange",
    "realKnownCause",
    "realTraffic",
    "realTweets",
)
EXPECTED_FILES = 58
PROFILE_NAMES = {"standard": "standard", "reward_low_FP_rate": "low_fp", "reward_low_FN_rate": "low_fn"}
"""NAB's profile names → the names our reports use (as for SKAB's changepoint score)."""

LEADERBOARD: tuple[tuple[str, float, float, float], ...] = (
    ("ARTime", 74.9, 65.2, 80.4),
    ("Numenta HTM", 70.1, 63.1, 74.3),
    ("CAD OSE", 69.9, 67.0, 73.2),
    ("earthgecko Skyline", 58.2, 46.2, 63.8),
    ("KNN CAD", 58.0, 43.4, 64.8),
    ("Random Cut Forest", 51.7, 38.4, 59.7),
    ("windowed Gaussian", 39.6, 20.9, 47.4),
    ("random", 16.8, 5.8, 25.9),
    ("null (never alarms)", 0.0, 0.0, 0.0),
)
"""Published rows of results/final_results.json: (detector, standard, low-FP, low-FN)."""


class NabDataMissing(FileNotFoundError):
    """The NAB folder is not where the project expects its shared data."""


@dataclass(frozen=True)
class Profile:
    """A NAB cost matrix; weights are positive, as in config/profiles.json."""

    name: str
    tp: float
    fp: float
    fn: float


@dataclass(frozen=True)
class Series:
    """One NAB data file: its rows and its labelled windows as inclusive row ranges."""

    name: str
    """category/file.csv, as NAB's label and result files name it."""
    time_ns: np.ndarray
    value: np.ndarray
    windows: tuple[tuple[int, int], ...]

    @property
    def sensor(self) -> str:
        return Path(self.name).stem

    @property
    def probation(self) -> int:
        return probationary_rows(len(self.time_ns))


def nab_dir(data_dir: Path | None = None) -> Path:
    return (data_dir or default_data_dir()) / "nab"


def probationary_rows(rows: int) -> int:
    return int(min(math.floor(PROBATION_FRACTION * rows), PROBATION_FRACTION * 5000))


def load_profiles(data_dir: Path | None = None) -> list[Profile]:
    document = json.loads((nab_dir(data_dir) / "config" / "profiles.json").read_text())
    costs = {ours: document[theirs]["CostMatrix"] for theirs, ours in PROFILE_NAMES.items()}
    return [Profile(name, c["tpWeight"], c["fpWeight"], c["fnWeight"]) for name, c in costs.items()]


def _times(column) -> np.ndarray:
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype="datetime64[ns]").astype(np.int64)


def load_corpus(data_dir: Path | None = None) -> list[Series]:
    """The 58 series with their windows, in NAB's category/file order."""
    root = nab_dir(data_dir)
    labels_path = root / "labels" / "combined_windows.json"
    if not labels_path.is_file():
        raise NabDataMissing(f"NAB data not found at {root} (set HAZWATCH_DATA_DIR to the folder holding nab/)")
    labels = json.loads(labels_path.read_text())
    corpus = []
    for name in sorted(labels):
        options = pa_csv.ConvertOptions(column_types={"timestamp": "timestamp[ns]", "value": "float64"})
        table = pa_csv.read_csv(root / "data" / name, convert_options=options)
        time_ns = _times(table["timestamp"])
        windows = []
        for start, end in labels[name]:
            left, right = np.searchsorted(time_ns, _stamp_ns([start, end]))
            windows.append((int(left), int(right)))
        corpus.append(Series(name, time_ns, table["value"].to_numpy(), tuple(windows)))
    if len(corpus) != EXPECTED_FILES:
        raise NabDataMissing(f"expected {EXPECTED_FILES} NAB files under {root}, found {len(corpus)}")
    return corpus


def _stamp_ns(stamps: Sequence[str]) -> np.ndarray:
    return np.array([np.datetime64(s.replace(" ", "T")) for s in stamps], dtype="datetime64[ns]").astype(np.int64)


# ---- the scoring rule ---------------------------------------------------------------------------------


def scaled_sigmoid(position: np.ndarray) -> np.ndarray:
    """NAB's 2·sigmoid(−5·x) − 1, and −1 from three window widths past a window on."""
    position = np.asarray(position, dtype=np.float64)
    return np.where(position >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0)


MAX_TP = float(scaled_sigmoid(np.array(-1.0)))


def row_scores(rows: int, windows: Sequence[tuple[int, int]], profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """Each row's weight if it were a detection, and the index of the window holding it (−1: none).

    Inside window [l, r] (width w = r − l + 1) a row i sits at −(r − i + 1)/w; outside, at
    |r_prev − i| / (w_prev − 1) past the previous window (three widths, i.e. −fp, before the first).
    """
    index = np.arange(rows)
    window_of = np.full(rows, -1, dtype=np.int64)
    score = np.empty(rows)
    prev_right = np.full(rows, -1, dtype=np.int64)
    prev_width = np.ones(rows)
    for w, (left, right) in enumerate(windows):
        window_of[left : right + 1] = w
        width = right - left + 1
        inside = index[left : right + 1]
        score[left : right + 1] = scaled_sigmoid(-(right - inside + 1) / width) * profile.tp / MAX_TP
        prev_right[right + 1 :] = right
        prev_width[right + 1 :] = width
    outside = window_of < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        past = np.where(prev_right >= 0, np.abs(prev_right - index) / (prev_width - 1), 3.0)
    score[outside] = scaled_sigmoid(past[outside]) * profile.fp
    return score, window_of


def file_score(series: Series, detected: np.ndarray, profile: Profile) -> float:
    """The raw NAB score of one file's per-row detections (bool per row)."""
    rows = len(series.time_ns)
    weight, window_of = row_scores(rows, series.windows, profile)
    scorable = np.arange(rows) >= series.probation
    hits = np.asarray(detected, dtype=bool) & scorable
    total = float(weight[hits & (window_of < 0)].sum())
    for w in np.unique(window_of[scorable & (window_of >= 0)]):
        inside = hits & (window_of == w)
        total += max(-profile.fn, float(weight[inside].max())) if inside.any() else -profile.fn
    return total


def scored_windows(series: Series) -> int:
    """Windows with at least one row after the probationary period: what null and perfect are made of."""
    return sum(1 for _, right in series.windows if right >= series.probation)


@dataclass
class CorpusScore:
    raw: dict[str, float]
    normalised: dict[str, float]
    windows: int
    windows_detected: int
    detections: int
    false_positives: int

    def summary(self) -> dict[str, object]:
        return {
            "standard": round(self.normalised["standard"], 2),
            "low_fp": round(self.normalised["low_fp"], 2),
            "low_fn": round(self.normalised["low_fn"], 2),
            "raw": {k: round(v, 4) for k, v in self.raw.items()},
            "windows": self.windows,
            "windows_detected": self.windows_detected,
            "detections": self.detections,
            "detections_outside_windows": self.false_positives,
        }


def score_corpus(
    corpus: Sequence[Series], detections: Callable[[Series, Profile], np.ndarray], profiles: Sequence[Profile]
) -> CorpusScore:
    """`detections(series, profile)` gives the per-row detections (a detector's thresholds may differ by profile)."""
    raw, normalised = {}, {}
    windows = sum(scored_windows(s) for s in corpus)
    detected = outside = count = 0
    for profile in profiles:
        total = 0.0
        for series in corpus:
            hits = np.asarray(detections(series, profile), dtype=bool)
            total += file_score(series, hits, profile)
            if profile.name == "standard":
                scorable = hits & (np.arange(len(hits)) >= series.probation)
                _, window_of = row_scores(len(hits), series.windows, profile)
                count += int(scorable.sum())
                outside += int((scorable & (window_of < 0)).sum())
                detected += len(np.unique(window_of[scorable & (window_of >= 0)]))
        null, perfect = -profile.fn * windows, profile.tp * windows
        raw[profile.name] = total
        normalised[profile.name] = 100.0 * (total - null) / (perfect - null)
    return CorpusScore(raw, normalised, windows, detected, count, outside)


# ---- published results, to prove the scorer ------------------------------------------------------------


def published_scores(detector: str, data_dir: Path | None = None) -> dict[str, np.ndarray]:
    """A published detector's per-row anomaly scores (results/<detector>/<category>/<detector>_<file>)."""
    root = nab_dir(data_dir) / "results" / detector
    scores = {}
    for path in sorted(root.glob("*/*.csv")):
        table = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(include_columns=["anomaly_score"]))
        name = f"{path.parent.name}/{path.name.removeprefix(detector + '_')}"
        scores[name] = table["anomaly_score"].to_numpy()
    return scores


def published_thresholds(detector: str, data_dir: Path | None = None) -> dict[str, float]:
    document = json.loads((nab_dir(data_dir) / "config" / "thresholds.json").read_text())[detector]
    return {ours: document[theirs]["threshold"] for theirs, ours in PROFILE_NAMES.items()}


def published_final(data_dir: Path | None = None) -> dict[str, dict[str, float]]:
    document = json.loads((nab_dir(data_dir) / "results" / "final_results.json").read_text())
    return {d: {ours: v[theirs] for theirs, ours in PROFILE_NAMES.items()} for d, v in document.items()}


def score_published(detector: str, data_dir: Path | None = None) -> CorpusScore:
    """Re-score a published detector from its result files at its published thresholds."""
    corpus = load_corpus(data_dir)
    scores = published_scores(detector, data_dir)
    thresholds = published_thresholds(detector, data_dir)
    return score_corpus(corpus, lambda s, p: scores[s.name] >= thresholds[p.name], load_profiles(data_dir))


def detections_at(series: Series, times_ns: Iterable[int]) -> np.ndarray:
    """Per-row detections from alarm raise times (each marks the row carrying that reading)."""
    hits = np.zeros(len(series.time_ns), dtype=bool)
    at = np.searchsorted(series.time_ns, np.fromiter(times_ns, dtype=np.int64))
    hits[at[at < len(hits)]] = True
    return hits


# ---- hazwatch on NAB: the real detector stack, one fixed config for every file ---------------------------

SITE = "nab"
SENSOR = {"kind": "generic", "detect": {"disable": ["offline"]}}


def series_config(sensor: str) -> HazwatchConfig:
    """The one config every file runs with: a single generic sensor (NAB has no units and no limits).

    The dead-man is off: NAB's recordings have gaps (233 offline alarms with it on) that are not what its
    labels are about, and a benchmark series has no device to go offline. Everything else is the default."""
    return parse_config(
        {
            "sites": [
                {
                    "id": SITE,
                    "type": "chemical_plant",
                    "areas": [{"id": "series", "kind": "process_unit", "sensors": [SENSOR | {"id": sensor}]}],
                }
            ]
        },
        source=f"NAB {sensor}",
    )


def sensor_id(series: Series) -> str:
    """NAB file names as sensor ids (the config's identifier pattern; at most 64 characters)."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", series.sensor)[:64]


@dataclass
class HazwatchRun:
    """hazwatch's alarms on each file: raise times by rule, and the wall time the corpus took."""

    raises: dict[str, list[tuple[int, str]]]
    wall_s: float
    readings: int

    def detections(self, series: Series, _profile: Profile | None = None) -> np.ndarray:
        return detections_at(series, (t for t, _ in self.raises[series.name]))

    def by_rule(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for raised in self.raises.values():
            for _, rule in raised:
                counts[rule] = counts.get(rule, 0) + 1
        return dict(sorted(counts.items()))


def run_hazwatch(corpus: Sequence[Series]) -> HazwatchRun:
    """Replay each file through the stack `hazwatch replay` builds, ticking and batching at the data's cadence."""
    raises: dict[str, list[tuple[int, str]]] = {}
    started = time.perf_counter()
    readings = 0
    for series in corpus:
        config = series_config(sensor_id(series))
        registry = SensorRegistry.from_config(config)
        steps = np.diff(series.time_ns)
        interval_s = float(np.median(steps[steps > 0])) / 1e9 if (steps > 0).any() else 1.0
        registry = registry.with_poll_intervals({0: interval_s})
        tick_s = cadence_s({0: interval_s})
        runner = ReplayRunner(build_stack(config, registry), batch_s=auto_batch_s(tick_s), tick_s=tick_s)
        n = len(series.time_ns)
        batch = ReadingBatch.from_columns(
            np.zeros(n, dtype=np.int32), series.time_ns, series.value.astype(np.float64), np.zeros(n, dtype=np.uint8)
        )
        result = runner.run([batch])
        readings += result.readings
        raises[series.name] = [(e.time_ns, e.rule) for e in result.events if e.transition is Transition.RAISE]
    return HazwatchRun(raises, time.perf_counter() - started, readings)


def evaluate(data_dir: Path | None = None) -> dict[str, object]:
    """hazwatch on the 58 files with one config, scored by NAB's rule, beside the published scoreboard."""
    corpus = load_corpus(data_dir)
    profiles = load_profiles(data_dir)
    run = run_hazwatch(corpus)
    score = score_corpus(corpus, run.detections, profiles)
    return {
        "files": len(corpus),
        "readings": run.readings,
        "wall_s": round(run.wall_s, 1),
        **score.summary(),
        "raises_by_rule": run.by_rule(),
        "data_dir": str(nab_dir(data_dir)),
    }
