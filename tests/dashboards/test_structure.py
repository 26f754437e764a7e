"""The generated dashboards are well-formed Grafana models whose colours say what the config's limits say."""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import combinations

from dashboards.build import build_dashboards
from dashboards.panels import DATASOURCE_UID, LEVEL_COLORS, NORMAL_COLOR
from hazwatch.config import HazwatchConfig, SensorInfo, SensorRegistry
from hazwatch.config.limits import Limits

POINT_QUERY = re.compile(r"\"site\" = '([^']+)' AND \"sensor\" = '([^']+)'")


def _panels(dashboard: dict) -> list[dict]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def _sensor_of(panel_: dict, registry: dict[tuple[str, str], SensorInfo]) -> SensorInfo | None:
    match = POINT_QUERY.search(panel_["targets"][0]["query"])
    return registry.get(match.groups()) if match else None


def _grafana_color(steps: list[dict], value: float) -> str:
    """Grafana colours a value with the last step whose value is at or below it (the first step is the base)."""
    color = steps[0]["color"]
    for step in steps[1:]:
        if value >= step["value"]:
            color = step["color"]
    return color


def _config_level(limits: Limits, value: float) -> int:
    """The alarm level the config assigns to a value: high limits are active at >=, low limits at <=."""
    levels = [lv.level for lv in limits.high if value >= lv.value]
    levels += [lv.level for lv in limits.low if value <= lv.value]
    return max(levels, default=0)


def _registry(configs: list[HazwatchConfig]) -> dict[tuple[str, str], SensorInfo]:
    return {(s.site, s.sensor): s for c in configs for s in SensorRegistry.from_config(c)}


def test_uids_are_unique_and_stable_across_builds(example_configs, example_dashboards):
    uids = [d["uid"] for d in example_dashboards]
    assert len(uids) == len(set(uids))
    assert all(len(uid) <= 40 and re.fullmatch(r"[A-Za-z0-9_-]+", uid) for uid in uids)
    rebuilt = {d["uid"]: d for c in example_configs for d in build_dashboards(c)}
    assert rebuilt == {d["uid"]: d for d in example_dashboards}, "a rebuild must produce the same dashboards"
    sites = {s.id for c in example_configs for s in c.sites}
    for site in sites:
        kinds = {d["uid"].removeprefix(f"hw-{site}-") for d in example_dashboards if site in d["tags"]}
        assert kinds == {"overview", "areas", "alarms", "exposure"}


def test_panels_do_not_overlap_and_fit_the_grid(example_dashboards):
    for dashboard in example_dashboards:
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), dashboard["uid"]
        for p in dashboard["panels"]:
            pos = p["gridPos"]
            assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, (dashboard["uid"], p["title"])
        for a, b in combinations(dashboard["panels"], 2):
            pa, pb = a["gridPos"], b["gridPos"]
            apart = (
                pa["x"] + pa["w"] <= pb["x"]
                or pb["x"] + pb["w"] <= pa["x"]
                or pa["y"] + pa["h"] <= pb["y"]
                or pb["y"] + pb["h"] <= pa["y"]
            )
            assert apart, f"{dashboard['uid']}: {a['title']!r} overlaps {b['title']!r}"


def _datasource_refs(node: object) -> list[dict]:
    if isinstance(node, dict):
        found = [node["datasource"]] if isinstance(node.get("datasource"), dict) else []
        found += [{"uid": node["datasourceUid"]}] if "datasourceUid" in node else []
        return found + [ref for value in node.values() for ref in _datasource_refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _datasource_refs(value)]
    return []


def test_every_datasource_reference_is_the_provisioned_influxdb(example_dashboards):
    for dashboard in example_dashboards:
        refs = _datasource_refs(dashboard)
        assert refs, dashboard["uid"]
        assert {ref["uid"] for ref in refs} == {DATASOURCE_UID}, dashboard["uid"]
        assert {ref.get("type", "influxdb") for ref in refs} == {"influxdb"}


def test_every_target_is_raw_influxql(example_dashboards):
    for dashboard in example_dashboards:
        for p in _panels(dashboard):
            assert p["targets"], (dashboard["uid"], p["title"])
            for target in p["targets"]:
                assert target["rawQuery"] is True and target["query"].startswith("SELECT ")


def test_overview_shows_every_critical_sensor_once(example_configs, example_dashboards):
    registry = _registry(example_configs)
    for config in example_configs:
        for site in config.sites:
            overview = next(d for d in example_dashboards if d["uid"] == f"hw-{site.id}-overview")
            shown = Counter(
                s.sensor for p in _panels(overview) if p["type"] == "stat" and (s := _sensor_of(p, registry))
            )
            critical = {s.sensor for s in registry.values() if s.site == site.id and s.critical}
            assert set(shown) == critical and set(shown.values()) == {1}


def test_threshold_colours_change_exactly_at_the_configured_limits(example_configs, example_dashboards):
    registry = _registry(example_configs)
    checked = 0
    for dashboard in example_dashboards:
        for p in _panels(dashboard):
            sensor = _sensor_of(p, registry)
            if sensor is None or p["type"] not in ("stat", "timeseries") or "TWA" in p["title"] or "STEL" in p["title"]:
                continue
            steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
            limits = sensor.limits
            limit_values = {lv.value for lv in [*limits.high, *limits.low]}
            assert {s["value"] for s in steps[1:]} == limit_values, (sensor.key, steps)
            probes = [v + d for v in limit_values for d in (-1e-6, 1e-6)] + [(sensor.range_min + sensor.range_max) / 2]
            for value in probes:
                expected = LEVEL_COLORS[_config_level(limits, value)]
                assert _grafana_color(steps, value) == expected, (sensor.key, value, steps)
            checked += 1
    assert checked > 80


def test_face_methane_turns_orange_at_the_alarm_point_and_red_at_power_cut(example_dashboards):
    overview = next(d for d in example_dashboards if d["uid"] == "hw-xinyuan-mine-overview")
    face = next(p for p in _panels(overview) if "'LW-CH4-T1'" in p["targets"][0]["query"])
    steps = face["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [
        {"color": NORMAL_COLOR, "value": None},
        {"color": LEVEL_COLORS[1], "value": 1.0},
        {"color": LEVEL_COLORS[2], "value": 1.5},
    ]


def test_plant_oxygen_is_red_when_deficient_and_orange_when_enriched(example_dashboards):
    overview = next(d for d in example_dashboards if d["uid"] == "hw-hengda-chem-overview")
    oxygen = next(p for p in _panels(overview) if "'TF2-O2'" in p["targets"][0]["query"])
    steps = oxygen["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert _grafana_color(steps, 19.0) == LEVEL_COLORS[2]
    assert _grafana_color(steps, 20.9) == NORMAL_COLOR
    assert _grafana_color(steps, 24.0) == LEVEL_COLORS[1]


def test_exposure_dashboards_cover_every_toxic_gas_sensor(example_configs, example_dashboards):
    registry = _registry(example_configs)
    toxic = {k for k, s in registry.items() if s.kind.value in {"CO", "H2S", "NH3", "NO2", "SO2", "Cl2"}}
    covered = {
        (match.group(1), match.group(2))
        for d in example_dashboards
        if d["uid"].endswith("-exposure")
        for p in _panels(d)
        if (match := POINT_QUERY.search(p["targets"][0]["query"]))
    }
    assert covered == toxic


def test_sensor_panels_bucket_at_least_three_poll_periods(example_configs, example_dashboards):
    registry = _registry(example_configs)
    for dashboard in example_dashboards:
        for p in _panels(dashboard):
            sensor = _sensor_of(p, registry)
            if sensor is not None and "interval" in p:
                assert int(p["interval"].removesuffix("s")) >= math.ceil(3 * sensor.poll_interval)


def test_the_alarm_tables_say_which_unit_each_group_id_stands_for(example_dashboards):
    """A group's alarm is listed under the group's own id and area (not a member's): the tables name the unit."""
    overview = next(d for d in example_dashboards if d["uid"] == "hw-hengda-chem-overview")
    history = next(d for d in example_dashboards if d["uid"] == "hw-hengda-chem-alarms")
    for dashboard, title in ((overview, "Active alarms"), (history, "Alarm events")):
        (table,) = [p for p in _panels(dashboard) if p["title"] == title]
        assert "R101-UNIT = R-101 unit model (area r101; members R101-TT-A, R101-PT, R101-FT-CW, R101-LT)" in (
            table["description"]
        )
        assert "R-101-temperature-2oo3 = R-101 temperature 2oo3" in table["description"], "an id made from the name"
