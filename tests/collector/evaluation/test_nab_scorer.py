"""NAB's scoring rule, proved on the published results of two detectors before it scores ours."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from collector.evaluation import nab

pytestmark = pytest.mark.skipif(not nab.nab_dir().is_dir(), reason=f"NAB data not at {nab.nab_dir()}")

STANDARD = nab.Profile("standard", 1.0, 0.11, 1.0)


@pytest.fixture(scope="module")
def corpus() -> list[nab.Series]:
    return nab.load_corpus()


@pytest.mark.parametrize("detector", ["numenta", "ARTime"])
def test_the_scorer_reproduces_the_published_scores_of_published_detectors(detector):
    ours = nab.score_published(detector)
    published = nab.published_final()[detector]
    for profile in ("standard", "low_fp", "low_fn"):
        assert ours.normalised[profile] == pytest.approx(published[profile], abs=1e-6), profile


def test_per_file_scores_match_the_published_score_sheet(corpus):
    scores = nab.published_scores("numenta")
    threshold = nab.published_thresholds("numenta")["standard"]
    sheet = nab.nab_dir() / "results" / "numenta" / "numenta_standard_scores.csv"
    with sheet.open() as handle:
        published = {row["File"]: float(row["Score"]) for row in csv.DictReader(handle) if row["File"]}
    for series in corpus:
        ours = nab.file_score(series, scores[series.name] >= threshold, STANDARD)
        assert ours == pytest.approx(published[series.name], abs=1e-6), series.name


def test_the_earliest_detection_in_a_window_scores_and_late_ones_add_nothing():
    series = nab.Series("x/y.csv", np.arange(2000), np.zeros(2000), ((1000, 1099),))
    first = np.zeros(2000, dtype=bool)
    first[1000] = True
    assert nab.file_score(series, first, STANDARD) == pytest.approx(1.0)
    both = first.copy()
    both[1090] = True
    assert nab.file_score(series, both, STANDARD) == pytest.approx(1.0)
    late = np.zeros(2000, dtype=bool)
    late[1090] = True
    assert 0 < nab.file_score(series, late, STANDARD) < 0.5
    assert nab.file_score(series, np.zeros(2000, dtype=bool), STANDARD) == -1.0


def test_detections_in_the_probationary_period_are_never_scored_and_far_ones_cost_the_fp_weight():
    series = nab.Series("x/y.csv", np.arange(2000), np.zeros(2000), ((1000, 1099),))
    hits = np.zeros(2000, dtype=bool)
    hits[[10, 1000, 1900]] = True
    assert series.probation == 300
    assert nab.file_score(series, hits, STANDARD) == pytest.approx(1.0 - 0.11), "row 1900 is 8 widths past: −fp"
    hits[1900], hits[1110] = False, True
    just_after = nab.file_score(series, hits, STANDARD) - 1.0
    assert -0.11 < just_after < 0, "a detection just after a window costs less than a far one"
