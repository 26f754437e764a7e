"""Every query the dashboards send asks only for what hazwatch writes, and returns data from a real InfluxDB."""

from __future__ import annotations

import re

import pytest
from grafana_macros import expand
from schema_fixture import write_heartbeat

from dashboards.alerting import deadman_rule
from hazwatch.config import SensorRegistry
from hazwatch.events import AlarmState, Transition
from hazwatch.storage.schema import MEASUREMENTS

FROM = re.compile(r'FROM\s+(?:"[^"]+"\.)?"([^"]+)"')
IDENTIFIER = re.compile(r'"([^"]+)"')
ALIAS = re.compile(r'AS\s+"([^"]+)"')
POLICY = re.compile(r'FROM\s+"([^"]+)"\."')
AGGREGATED = re.compile(r'\b(?:mean|max|min|last|count|sum|top|moving_average)\(\s*(?:mean\()?"([^"]+)"')
TAG_LITERAL = re.compile(r"\"(transition|state)\" (?:=|<>) '([^']*)'")


def _queries(dashboard: dict) -> list[tuple[str, str]]:
    """(where, query) for every panel target, template variable and annotation of a dashboard."""
    found = [
        (f"{dashboard['uid']} / {p['title']} / {t['refId']}", t["query"])
        for p in dashboard["panels"]
        for t in p.get("targets", [])
    ]
    found += [(f"{dashboard['uid']} / ${v['name']}", v["query"]) for v in dashboard["templating"]["list"]]
    found += [(f"{dashboard['uid']} / annotation {a['name']}", a["query"]) for a in dashboard["annotations"]["list"]]
    return found


def _all_queries(dashboards: list[dict]) -> list[tuple[str, str]]:
    rule_query = deadman_rule()["data"][0]["model"]["query"]
    return [q for d in dashboards for q in _queries(d)] + [("dead-man alert rule", rule_query)]


def test_queries_name_only_measurements_tags_and_fields_hazwatch_writes(example_dashboards):
    checked = 0
    for where, query in _all_queries(example_dashboards):
        measurements = set(FROM.findall(query))
        assert measurements, f"{where}: no measurement in {query}"
        unknown = measurements - set(MEASUREMENTS)
        assert not unknown, f"{where}: queries unknown measurement(s) {unknown}"
        tags = set().union(*(MEASUREMENTS[m].tags for m in measurements))
        fields = set().union(*(MEASUREMENTS[m].fields for m in measurements))
        aliases = set(ALIAS.findall(query))
        policies = set(POLICY.findall(query))
        for name in set(IDENTIFIER.findall(query)) - measurements - policies - aliases:
            assert name in tags | fields, f"{where}: {name!r} is neither a tag nor a field of {measurements}"
        for name in AGGREGATED.findall(query):
            assert name in fields | aliases, f"{where}: aggregates {name!r}, which is not a field"
        for tag, literal in TAG_LITERAL.findall(query):
            allowed = {t.value for t in Transition} if tag == "transition" else {s.value for s in AlarmState}
            assert literal in allowed, f"{where}: {tag} is never {literal!r}"
        checked += 1
    assert checked > 100


def _non_null_values(series: list[dict]) -> int:
    return sum(1 for s in series for row in s["values"] for cell in row[1:] if cell is not None)


@pytest.mark.timeout(120)
def test_every_query_returns_data_from_a_filled_influxdb(example_configs, example_dashboards, filled_influxd):
    """Once with every variable at "All", once narrowed to one area and a sensor that has alarmed."""
    influxd, facts = filled_influxd
    write_heartbeat(influxd.url, example_configs)
    sites = {s.id for c in example_configs for s in c.sites}
    area_of = {s.key: s.area for c in example_configs for s in SensorRegistry.from_config(c)}
    empty = []
    for dashboard in example_dashboards:
        for site_id in [t for t in dashboard["tags"] if t in sites] or sorted(sites):
            alarmed = next(key for key in facts.active_alarms if key.startswith(f"{site_id}/"))
            selections = [
                {"site": re.escape(site_id), "area": ".*", "sensor": ".*"},
                {
                    "site": re.escape(site_id),
                    "area": re.escape(area_of[alarmed]),
                    "sensor": re.escape(alarmed.split("/", 1)[1]),
                },
            ]
            for where, query in _queries(dashboard):
                for variables in selections:
                    series = influxd.query(expand(query, variables))
                    if not _non_null_values(series):
                        empty.append(f"{where} with {variables}: {expand(query, variables)}")
    assert not empty, "queries without data:\n" + "\n".join(empty)


def test_active_alarms_lists_exactly_the_alarms_not_back_to_normal(example_dashboards, filled_influxd):
    influxd, facts = filled_influxd
    overview = next(d for d in example_dashboards if d["uid"] == "hw-xinyuan-mine-overview")
    table = next(p for p in overview["panels"] if p["title"] == "Active alarms")
    rows = influxd.query(expand(table["targets"][0]["query"], {"site": "xinyuan-mine"}))
    columns = rows[0]["columns"]
    listed = {f"xinyuan-mine/{row[columns.index('sensor')]}" for row in rows[0]["values"]}
    assert listed == {key for key in facts.active_alarms if key.startswith("xinyuan-mine/")}


def test_health_summary_counts_offline_fault_and_calibration_sensors(example_dashboards, filled_influxd):
    influxd, facts = filled_influxd
    overview = next(d for d in example_dashboards if d["uid"] == "hw-hengda-chem-overview")
    health = next(p for p in overview["panels"] if p["title"] == "Sensor health")
    counts = {
        t["alias"]: influxd.query(expand(t["query"], {"site": "hengda-chem"}))[0]["values"][0][1]
        for t in health["targets"]
    }

    def on_site(keys: list[str]) -> int:
        return sum(k.startswith("hengda-chem/") for k in keys)

    assert counts == {
        "offline": on_site(facts.offline),
        "fault": on_site(facts.fault),
        "calibration": on_site(facts.calibration),
    }


NEEDS_MORE_THAN_A_MINUTE = (
    "moving_average(",  # a 15-minute STEL needs 15 minute-means
    '"stats"."readings_5m"',  # the 5-minute statistics query runs every 5 minutes
    'last("quality") AS "q"',  # sensors offline / in calibration *now*: the demo restores both before it ends
    "now() - 1m",  # heartbeats in the last minute: the demo has ended by the time this runs
)


@pytest.mark.timeout(180)
def test_every_query_returns_series_from_a_real_demo_run(example_dashboards, demo_run):
    """The data of a one-minute `hazwatch demo`, not a fixture: every query runs, and every query returns
    series except those that cannot have any after one minute, each for a stated reason."""
    influxd = demo_run.influxd
    empty, ran = [], 0
    for dashboard in example_dashboards:
        for where, query in _queries(dashboard):
            series = influxd.query(expand(query, {"site": ".*", "area": ".*", "sensor": ".*"}))
            ran += 1
            if not _non_null_values(series) and not any(reason in query for reason in NEEDS_MORE_THAN_A_MINUTE):
                empty.append(f"{where}: {query}")
    assert ran > 100
    assert not empty, "queries without data after a one-minute demo:\n" + "\n".join(empty)
