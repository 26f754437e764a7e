"""`hazwatch evaluate` scores hazwatch on NAB beside SKAB, and skips a benchmark whose data are absent."""

import json

import pytest
from typer.testing import CliRunner

from collector.app.cli import app
from collector.evaluation import nab

runner = CliRunner()


def test_evaluate_skips_both_benchmarks_with_a_line_when_their_data_are_absent(tmp_path):
    result = runner.invoke(app, ["evaluate", "--json", "--no-scenarios", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "SKAB skipped" in result.output and "NAB skipped" in result.output
    assert str(tmp_path / "nab") in " ".join(result.output.split())
    report = json.loads(result.output[result.output.index("{") :])
    assert set(report) == {"skab", "nab", "budget"} and "skipped" in report["nab"]
    assert "skipped" in report["budget"]["skab_anomaly_free"]


@pytest.mark.skipif(not nab.nab_dir().is_dir(), reason=f"NAB data not at {nab.nab_dir()}")
def test_hazwatch_on_nab_scores_one_fixed_config_by_the_benchmarks_rule():
    corpus = [s for s in nab.load_corpus() if s.name.startswith("realKnownCause/")]
    run = nab.run_hazwatch(corpus)
    score = nab.score_corpus(corpus, run.detections, nab.load_profiles())
    assert score.windows == sum(len(s.windows) for s in corpus)
    learned = {"learned.unusual", "learned.persistent"}
    assert set(run.by_rule()) <= learned, "a generic series gets only the learned rule"
    assert score.normalised["standard"] > 0, "better than never alarming"
    assert score.windows_detected >= score.windows // 2
