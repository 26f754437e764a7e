"""`hazwatch demo` against a real InfluxDB and a real webhook receiver: what a new user sees in one minute."""

from __future__ import annotations

from collector.app.demo import DEMO_CONFIGS, OUTAGE_DEVICE
from collector.notify.payload import parse_rfc3339
from hazwatch.config import SensorRegistry, load_configs
from hazwatch.quality import Quality


def _count_by_sensor(demo_run, where: str = "") -> dict[tuple[str, str], int]:
    series = demo_run.influxd.query(f'SELECT count("quality") FROM "readings" {where} GROUP BY "site", "sensor"')
    return {(s["tags"]["site"], s["tags"]["sensor"]): s["values"][0][1] for s in series}


def test_the_demo_exits_0_and_says_where_the_data_went(demo_run) -> None:
    assert demo_run.returncode == 0, demo_run.stderr[-3000:]
    assert demo_run.influxd.url in demo_run.stdout


def test_every_sensor_of_both_example_sites_has_readings_in_influxdb(demo_run) -> None:
    registry = SensorRegistry.from_config(load_configs(list(DEMO_CONFIGS)))
    counts = _count_by_sensor(demo_run)
    missing = [s.key for s in registry if counts.get((s.site, s.sensor), 0) < 10]
    assert not missing, f"sensors with fewer than 10 readings: {missing}"


def test_flagged_and_missing_readings_are_stored_as_such_never_as_good_numbers(demo_run) -> None:
    fault = _count_by_sensor(demo_run, f'WHERE "quality" = {int(Quality.FAULT)}')
    calibration = _count_by_sensor(demo_run, f'WHERE "quality" = {int(Quality.CALIBRATION)}')
    offline = _count_by_sensor(demo_run, f'WHERE "quality" = {int(Quality.OFFLINE)}')
    assert fault.get(("xinyuan-mine", "LW-TEMP-T2"), 0) > 5
    assert calibration.get(("hengda-chem", "TF2-LEL-3"), 0) > 5
    assert {sensor for (_, sensor) in offline} >= {"CH-TEMP", "CH-CO", "CH-SMOKE"}
    nonzero = demo_run.influxd.query(
        f'SELECT count("value") FROM "readings" WHERE "quality" = {int(Quality.OFFLINE)} AND "value" = 0'
    )
    assert not nonzero, "an offline reading was stored as a number"


def _events(demo_run, sensor: str) -> list[dict]:
    return [d.payload for d in demo_run.receiver.deliveries if d.payload["sensor"] == sensor]


def test_face_methane_raise_power_cut_and_clear_reach_the_receiver_in_order_signed_within_1_s(demo_run) -> None:
    deliveries = [d for d in demo_run.receiver.deliveries if d.payload["sensor"] == "LW-CH4-T1"]
    threshold = [d for d in deliveries if d.payload["rule"] == "threshold.high"]
    assert [d.payload["transition"] for d in threshold][:3] == ["raise", "escalate", "clear"]
    raise_, cut, clear = threshold[:3]
    assert (raise_.payload["level"], cut.payload["level"]) == (1, 2)
    assert cut.payload["level_name"] == "power_cut" and cut.payload["limit"] == 1.5
    assert raise_.payload["value"] >= 1.0 and cut.payload["value"] >= 1.5 and clear.payload["value"] < 1.0
    assert all(d.signature_valid for d in demo_run.receiver.deliveries)
    for delivery in (raise_, cut, clear):
        from_reading_ms = (delivery.received_ns - parse_rfc3339(delivery.payload["time"])) / 1e6
        assert from_reading_ms < 1000, delivery.payload


def test_the_power_cut_comes_from_the_first_reading_over_1_5_percent(demo_run) -> None:
    """No on-delay on the cut path: the escalation carries the time of the first stored reading >= 1.5 %."""
    (cut,) = [e for e in _events(demo_run, "LW-CH4-T1") if e["transition"] == "escalate"]
    (series,) = demo_run.influxd.query(
        'SELECT "value" FROM "readings" WHERE "sensor" = \'LW-CH4-T1\' AND "value" >= 1.5 LIMIT 1'
    )
    first_over_ns = series["values"][0][0]
    assert abs(parse_rfc3339(cut["time"]) - first_over_ns) < 1_000_000, "webhook times carry milliseconds"


def test_calibration_raises_no_process_alarm_and_an_outage_raises_an_offline_alarm(demo_run) -> None:
    calibrated = _events(demo_run, "TF2-LEL-3")
    assert not [e for e in calibrated if e["category"] == "process"]
    offline = [d.payload for d in demo_run.receiver.deliveries if d.payload["rule"].startswith("health.")]
    assert any(e["rule"] == "health.device_offline" and e["transition"] == "raise" for e in offline), OUTAGE_DEVICE
    assert any(e["sensor"] == "LW-TEMP-T2" and e["transition"] == "raise" for e in offline)
