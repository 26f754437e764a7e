"""`hazwatch simulate export` and `hazwatch replay`, run as a user runs them."""

import json

from typer.testing import CliRunner

from collector.app.cli import app

runner = CliRunner()


def test_export_then_replay_writes_events_a_report_and_compares_configs(tmp_path, examples_dir):
    mine = examples_dir / "coal-mine.yaml"
    exported = tmp_path / "surge.csv"
    result = runner.invoke(
        app, ["simulate", "export", "mine", str(mine), "--scenario", "face-methane-surge", "--out", str(exported)]
    )
    assert result.exit_code == 0, result.output
    assert exported.read_text().startswith('"time","site","sensor","value","quality"')

    stricter = tmp_path / "stricter.yaml"
    stricter.write_text(
        mine.read_text().replace(
            "    - id: LW-CH4-T1\n      name: Face CH4\n      kind: CH4\n      location: T1\n",
            "    - id: LW-CH4-T1\n      name: Face CH4\n      kind: CH4\n      location: T1\n"
            "      limits:\n        high:\n        - {level: 1, name: alarm, value: 0.8}\n",
        )
    )
    events_out = tmp_path / "events.jsonl"
    report = tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "replay",
            str(exported),
            "--config",
            str(mine),
            "--events-out",
            str(events_out),
            "--report",
            str(report),
            "--compare",
            str(stricter),
            "--batch-seconds",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "readings/s" in result.output and "stricter.yaml" in result.output
    events = [json.loads(line) for line in events_out.read_text().splitlines()]
    cuts = [e for e in events if e["sensor"] == "LW-CH4-T1" and e["level"] == 2 and e["transition"] == "escalate"]
    assert cuts and cuts[0]["time"].endswith("Z") and cuts[0]["unit"] == "%"
    page = report.read_text()
    assert "data:image/png;base64," in page and "Alarm KPIs" in page


def test_replay_refuses_a_file_it_cannot_read(tmp_path, examples_dir):
    bad = tmp_path / "readings.xlsx"
    bad.write_text("nothing")
    result = runner.invoke(app, ["replay", str(bad), "--config", str(examples_dir / "coal-mine.yaml")])
    assert result.exit_code == 2
    assert "unknown file type" in result.output
