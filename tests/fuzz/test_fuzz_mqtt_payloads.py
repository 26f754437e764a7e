"""Short fuzz of every MQTT payload form (the long run: `python -m tests.support.fuzz --inputs 1000000`)."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from hazwatch.batch import ReadingBatch
from tests.support.fuzz import payload_for
from tests.support.fuzz_targets import FORMS, SENSORS, YEAR_2200_S, CurrentValueWatch, check_payload

FORM_NAMES = [f.name for f in FORMS]
sensors = st.sampled_from([*SENSORS, None, "NOPE"])
leaves = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["12.5", "1_000", "NaN", "\u0663", "2200-01-01T00:00:00Z", YEAR_2200_S, YEAR_2200_S * 1000])
)  # fmt: skip
KEYS = ["reading", "value", "ts", "status", "v", "t", "q", "id", "points", "data", "meta", "r", *SENSORS[:3]]
documents = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(form=st.sampled_from(FORM_NAMES), document=documents, sensor=sensors)
def test_any_json_document_decodes_without_error_and_only_real_readings_are_good(form, document, sensor) -> None:
    check_payload(form, json.dumps(document).encode(), sensor)


@settings(max_examples=300, deadline=None)
@given(form=st.sampled_from(FORM_NAMES), payload=st.binary(max_size=300), sensor=sensors)
def test_any_bytes_decode_without_error(form, payload: bytes, sensor) -> None:
    check_payload(form, payload, sensor)


@settings(max_examples=100, deadline=None)
@given(seeds=st.lists(st.integers(0, 2**32), min_size=1, max_size=40))
def test_a_year_2200_reading_never_becomes_a_sensors_current_value(seeds: list[int]) -> None:
    """Hostile messages (year-2200 stamps among them), decoded and fed through intake, detectors and status view."""
    watch = CurrentValueWatch()
    batches = []
    for seed in seeds:
        rng = random.Random(seed)
        form = rng.choice(FORM_NAMES)
        batches.append(check_payload(form, payload_for(rng, form), rng.choice([*SENSORS, None])).batch)
    watch.feed(ReadingBatch.concat(batches))
