"""The line-protocol encoder: what each reading and alarm becomes on the wire."""

from __future__ import annotations

import math

import pytest
from influxdb_client import Point
from influxdb_client.client.write.point import _escape_tag_value

from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry, load_configs
from hazwatch.config.examples import MINE_EXAMPLE, PLANT_EXAMPLE
from hazwatch.events import AlarmEvent, AlarmState, Transition
from hazwatch.quality import Quality
from hazwatch.storage.lineprotocol import (
    AlarmEncoder,
    ReadingEncoder,
    encode_point,
    escape_string_field,
    escape_tag,
)


@pytest.fixture(scope="module")
def registry() -> SensorRegistry:
    return SensorRegistry.from_config(load_configs([MINE_EXAMPLE, PLANT_EXAMPLE]))


def test_a_good_reading_has_value_and_quality_and_a_gap_has_quality_only(registry: SensorRegistry) -> None:
    info = registry.sensors[0]
    batch = ReadingBatch.from_columns([0, 0], [10, 20], [0.1, math.nan], [Quality.GOOD, Quality.OFFLINE])
    series = f"readings,site={info.site},area={info.area},sensor={info.sensor},kind={info.kind.value}"
    assert ReadingEncoder(registry).encode(batch) == (
        f"{series} value=0.1,quality=0i 10\n{series} quality=1i 20\n".encode()
    )


def test_values_keep_every_digit_and_stay_floats(registry: SensorRegistry) -> None:
    values = [1.0, -0.0, 1e-300, 123456789.12345678, 5e22, 0.30000000000000004]
    batch = ReadingBatch.from_columns([1] * len(values), range(len(values)), values)
    lines = ReadingEncoder(registry).encode(batch).decode().splitlines()
    written = [float(line.split(" value=")[1].split(",")[0]) for line in lines]
    assert written == values
    assert all("i," not in line.split(" value=")[1] for line in lines)


def test_readings_encode_to_the_same_points_as_influxdb_client(registry: SensorRegistry) -> None:
    batch = ReadingBatch.from_columns(range(len(registry)), 1_700_000_000_123_456_789, [2.5] * len(registry), 3)
    ours = ReadingEncoder(registry).encode(batch).decode().splitlines()
    for line, info in zip(ours, registry, strict=True):
        point = (
            Point("readings")
            .tag("site", info.site)
            .tag("area", info.area)
            .tag("sensor", info.sensor)
            .tag("kind", info.kind.value)
            .field("value", 2.5)
            .field("quality", 3)
            .time(1_700_000_000_123_456_789)
        )
        theirs = point.to_line_protocol()
        key, fields, timestamp = line.split(" ")
        their_key, their_fields, their_timestamp = theirs.split(" ")
        assert sorted(key.split(",")[1:]) == their_key.split(",")[1:]
        assert sorted(fields.split(",")) == sorted(their_fields.split(","))
        assert timestamp == their_timestamp


@pytest.mark.parametrize("text", ["plain", "two words", "a,b", "k=v", "tail\\", "C:\\dir"])
def test_tag_escaping_matches_influxdb_client(text: str) -> None:
    assert escape_tag(text) == _escape_tag_value(text)


def test_string_fields_escape_quotes_and_backslashes_and_lose_newlines() -> None:
    assert escape_string_field('say "hi"\\now\nplease') == '"say \\"hi\\"\\\\now please"'


def test_an_alarm_line_carries_sensor_tags_event_tags_and_text_fields(registry: SensorRegistry) -> None:
    info = registry.sensors[2]
    event = AlarmEvent(
        event_id="e1",
        slot=2,
        rule="threshold",
        category="process",
        transition=Transition.ESCALATE,
        state=AlarmState.UNACKNOWLEDGED,
        level=2,
        level_name="power cut",
        priority="critical",
        value=1.52,
        limit=math.nan,
        time_ns=99,
        message='over "1.5"',
    )
    assert AlarmEncoder(registry).encode([event]).decode() == (
        f"alarms,site={info.site},area={info.area},sensor={info.sensor},kind={info.kind.value},level=2,"
        "level_name=power\\ cut,state=unacknowledged,rule=threshold,category=process,transition=escalate,"
        'priority=critical value=1.52,event_id="e1",message="over \\"1.5\\"" 99\n'
    )


def test_a_single_point_types_its_fields_as_influxdb_client_would() -> None:
    point = (
        Point("hazwatch_health")
        .tag("instance", "host a,b")
        .field("heartbeat", 1)
        .field("rate", 2.5)
        .field("note", 'say "hi"')
        .field("ok", True)
        .time(1_700_000_000_000_000_000)
    )
    fields = {"heartbeat": 1, "note": 'say "hi"', "ok": True, "rate": 2.5}  # Point sorts its fields
    line = encode_point("hazwatch_health", [("instance", "host a,b")], fields, 1_700_000_000_000_000_000)
    assert line == point.to_line_protocol() + "\n"


def test_an_exported_series_known_only_by_its_tags_is_escaped_like_a_registered_one(registry: SensorRegistry) -> None:
    info = registry.sensors[0]
    tags = [("site", info.site), ("area", info.area), ("sensor", info.sensor), ("kind", info.kind.value)]
    batch = ReadingBatch.from_columns([0], [1_000], [0.5], [Quality.GOOD])
    assert ReadingEncoder.for_tags([tags]).encode(batch) == ReadingEncoder(registry).encode(batch)
