"""SKAB scoring by the benchmark's own definitions, and the shipped detector's result on the real data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from collector.app.cli import app
from collector.evaluation import skab

STANDARD, LOW_FP, LOW_FN = skab.PROFILES

# What `hazwatch evaluate --skab-only` reaches (docs/evaluation.md); the guard lets it get better, not worse.
REPORTED = {"f1": 0.7925, "far": 6.14, "mar": 30.89, "changepoint_standard": 34.42}
"""The shipped detector (default target false-alarm rate 1e-9) as docs/detectors.md reports it."""


def nab(time_s, true_cp, predicted) -> skab.NabTotals:
    totals = skab.NabTotals()
    totals.add(np.asarray(time_s), np.asarray(true_cp, dtype=bool), np.asarray(predicted, dtype=bool))
    return totals


def rows(n: int, *ones: int) -> np.ndarray:
    flags = np.zeros(n, dtype=bool)
    flags[list(ones)] = True
    return flags


# ---- outlier task ---------------------------------------------------------------------------


def test_outlier_rates_follow_the_benchmark_definitions():
    counts = skab.OutlierCounts()
    counts.add(np.array([1, 1, 1, 0, 0, 0, 0, 1]), np.array([1, 1, 0, 1, 0, 0, 0, 0]))
    assert (counts.tp, counts.fp, counts.tn, counts.fn) == (2, 1, 3, 2)
    assert counts.f1 == pytest.approx(2 / (2 + (1 + 2) / 2))
    assert counts.far == pytest.approx(100 * 1 / 4)
    assert counts.mar == pytest.approx(100 * 2 / 4)


def test_outlier_counts_are_summed_over_files_before_the_rates():
    counts = skab.OutlierCounts()
    counts.add(np.array([1, 1, 0, 0]), np.array([1, 1, 0, 0]))  # perfect file
    counts.add(np.array([1, 0, 0, 0]), np.array([0, 1, 1, 1]))  # hopeless file
    assert counts.f1 == pytest.approx(2 / (2 + (3 + 1) / 2))
    assert counts.far == pytest.approx(100 * 3 / 5)


def test_predicted_changepoints_are_where_the_alarm_flips_never_the_first_row():
    alarm = np.array([1, 1, 0, 0, 1, 1, 1, 0])
    assert skab.predicted_changepoints(alarm).tolist() == [False, False, True, False, True, False, False, True]


# ---- changepoint task -----------------------------------------------------------------------


def test_windows_open_60_s_to_the_right_and_an_overlapping_later_window_starts_where_the_earlier_ends():
    time_s = np.arange(200)
    windows = skab.detection_windows(time_s, rows(200, 10, 40, 150))
    assert windows.tolist() == [[10, 70], [70, 100], [150, 210]]


def test_windows_are_in_seconds_so_a_gap_in_the_clock_shortens_them_in_rows():
    time_s = np.concatenate([np.arange(0, 20), np.arange(50, 120)])  # 30 s without rows
    predicted = np.zeros(len(time_s), dtype=bool)
    predicted[np.searchsorted(time_s, 80)] = True  # 70 s after the changepoint at t=10: outside
    totals = nab(time_s, rows(len(time_s), 10), predicted)
    assert totals.detected == 0
    assert totals.false_positives == 1


def test_the_tanh_curve_runs_from_the_tp_weight_at_the_start_to_the_fp_weight_at_the_end():
    assert skab.tanh_weight(0.0, STANDARD) == pytest.approx(1.0)
    assert skab.tanh_weight(1.0, STANDARD) == pytest.approx(-0.11)
    assert skab.tanh_weight(0.5, STANDARD) == pytest.approx((1 - 0.11) / 2, abs=0.01)
    assert skab.tanh_weight(0.25, STANDARD) > skab.tanh_weight(0.5, STANDARD) > skab.tanh_weight(0.75, STANDARD)


def test_only_the_first_prediction_in_a_window_scores_and_later_ones_there_cost_nothing():
    time_s = np.arange(100)
    one = nab(time_s, rows(100, 10), rows(100, 25))
    three = nab(time_s, rows(100, 10), rows(100, 25, 30, 60))
    assert three.score == one.score
    assert one.score["standard"] == pytest.approx(skab.tanh_weight(15 / 60, STANDARD))
    assert three.false_positives == 0


def test_a_prediction_outside_every_window_costs_the_profile_fp_weight():
    time_s = np.arange(200)
    totals = nab(time_s, rows(200, 10), rows(200, 10, 150))
    assert totals.score["standard"] == pytest.approx(1.0 - 0.11)
    assert totals.score["low_fp"] == pytest.approx(1.0 - 0.22)
    assert totals.normalised("standard") == pytest.approx(100 * (0.89 + 1) / 2)
    assert totals.normalised("low_fp") == pytest.approx(100 * (0.78 + 1) / 2)


def test_a_missed_window_costs_the_profile_miss_weight():
    time_s = np.arange(300)
    totals = nab(time_s, rows(300, 10, 200), rows(300, 10))
    assert totals.score["standard"] == pytest.approx(1.0 - 1.0)
    assert totals.score["low_fn"] == pytest.approx(1.0 - 2.0)
    assert totals.normalised("standard") == pytest.approx(50.0)
    assert totals.normalised("low_fn") == pytest.approx(100 * (-1 + 4) / (2 + 4))


def test_a_prediction_in_an_overlap_is_credited_to_the_earlier_changepoint():
    time_s = np.arange(200)
    totals = nab(time_s, rows(200, 10, 40), rows(200, 45))
    assert totals.detected == 1
    assert totals.score["standard"] == pytest.approx(skab.tanh_weight(35 / 60, STANDARD) - 1.0)


def test_perfect_and_null_detectors_score_100_and_0_in_every_profile():
    time_s = np.arange(500)
    truth = rows(500, 50, 120, 300)
    perfect, null = nab(time_s, truth, truth), nab(time_s, truth, np.zeros(500, dtype=bool))
    for profile in skab.PROFILES:
        assert perfect.normalised(profile.name) == pytest.approx(100.0)
        assert null.normalised(profile.name) == 0.0


# ---- the data -------------------------------------------------------------------------------


def test_a_missing_data_folder_is_reported_with_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("HAZWATCH_DATA_DIR", str(tmp_path))
    with pytest.raises(skab.SkabDataMissing, match=str(tmp_path / "skab")):
        skab.load_experiments()
    (tmp_path / "skab" / "valve1").mkdir(parents=True)
    with pytest.raises(skab.SkabDataMissing, match="expected 34"):
        skab.load_experiments()


@pytest.fixture(scope="module")
def experiments() -> list[skab.SkabFile]:
    try:
        return skab.load_experiments()
    except skab.SkabDataMissing as exc:
        pytest.skip(f"SKAB data not available here: {exc}")


def test_the_34_experiments_load_with_their_labels(experiments):
    assert len(experiments) == 34
    assert all(e.values.shape[1] == 8 and len(e.values) > skab.FIT_ROWS for e in experiments)
    assert all(e.anomaly[skab.FIT_ROWS :].any() and e.changepoint[skab.FIT_ROWS :].any() for e in experiments)
    assert all(np.all(np.diff(e.time_s) > 0) for e in experiments)


def test_the_shipped_detector_beats_the_published_leaderboard_and_holds_its_reported_figures(experiments, tmp_path):
    result = skab.run("hazwatch")
    summary = result.summary()
    # The bar: better than every published row on F1 and changepoint score, FAR under 10 %.
    assert summary["f1"] > max(row[1] for row in skab.LEADERBOARD)
    assert summary["changepoint_standard"] > max(row[4] for row in skab.LEADERBOARD)
    assert summary["far"] < 10.0
    # Regression guard on what docs/detectors.md reports for the default target rate.
    assert summary["f1"] >= REPORTED["f1"] - 0.01
    assert summary["far"] <= REPORTED["far"] + 1.0
    assert summary["changepoint_standard"] >= REPORTED["changepoint_standard"] - 1.0

    # Written predictions re-score to the same figures: anyone can check them.
    skab.write_predictions(result, tmp_path)
    alarms = []
    for experiment in experiments:
        lines = (tmp_path / f"{experiment.name}.csv").read_text().splitlines()
        assert lines[0] == "datetime;anomaly_pred;changepoint_pred"
        alarms.append(np.array([line.split(";")[1] == "1" for line in lines[1:]]))
    _, counts, totals = skab.score_files(experiments, alarms)
    assert math.isclose(counts.f1, result.counts.f1)
    assert math.isclose(totals.normalised("standard"), result.nab.normalised("standard"))


def test_plain_pca_baseline_scores_like_the_published_pca_row(experiments):
    summary = skab.run("pca-baseline").summary()
    assert abs(summary["f1"] - 0.76) < 0.03
    assert summary["changepoint_standard"] < REPORTED["changepoint_standard"]


def test_hazwatch_evaluate_prints_one_json_object_and_writes_predictions(experiments, tmp_path):
    out = tmp_path / "predictions"
    result = CliRunner().invoke(app, ["evaluate", "--json", "--skab-only", "--predictions-out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == {"skab"}
    for key in ("f1", "far", "mar", "changepoint_standard", "changepoint_low_fp", "changepoint_low_fn"):
        assert isinstance(report["skab"][key], float)
    assert report["skab"]["prediction_files"] == 34
    assert len(list(out.glob("*/*.csv"))) == 34


def test_hazwatch_evaluate_table_sits_beside_the_leaderboard(experiments):
    result = CliRunner().invoke(app, ["evaluate", "--skab-only"])
    assert result.exit_code == 0, result.output
    assert "hazwatch (ours)" in result.output
    assert "MSCRED" in result.output and "Conv-AE" in result.output


def test_hazwatch_evaluate_without_the_data_exits_1_and_says_where_it_looked(tmp_path):
    result = CliRunner().invoke(app, ["evaluate", "--skab-only", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "SKAB data" in result.output
