"""Short fuzz of the config loader: any bytes end in a config or a ConfigError with a problem, within seconds."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.fuzz import config_bytes
from tests.support.fuzz_targets import check_config


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_a_mutated_config_is_loaded_or_refused_with_a_problem(seed: int) -> None:
    check_config(config_bytes(random.Random(seed)))


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_bytes_are_loaded_or_refused_with_a_problem(raw: bytes) -> None:
    check_config(raw)
