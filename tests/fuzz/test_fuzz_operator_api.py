"""Short fuzz of a real running operator API: no body, however broken, gets a 500."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.fuzz import RunningApi, api_body
from tests.support.fuzz_targets import check_api_answer

bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["user", "minutes", "comment", "x"]), children, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    running = RunningApi()
    yield running
    running.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, seed=st.integers(0, 2**32))
def test_any_json_body_is_answered_without_a_server_error(api: RunningApi, body, seed: int) -> None:
    raw = json.dumps(body).encode()
    check_api_answer(api.post(random.Random(seed), raw), raw)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32))
def test_hostile_and_mutated_bodies_are_answered_without_a_server_error(api: RunningApi, seed: int) -> None:
    rng = random.Random(seed)
    raw = api_body(rng)
    check_api_answer(api.post(rng, raw), raw)
