"""Short fuzz of whole Modbus responses through the decoder: no crash, no GOOD value that is not finite."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.fuzz_targets import MODBUS_REQUESTS, check_modbus

words = st.lists(st.integers(0, 0xFFFF) | st.sampled_from([0xFFFF, 0x7FC0, 0x7F80, 0xFF80, 0x7FF8, 0x8000]),
                 min_size=0, max_size=130)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(request=st.integers(0, len(MODBUS_REQUESTS) - 1), registers=words)
def test_any_response_of_the_right_length_decodes_to_finite_good_values_or_faults(request, registers) -> None:
    check_modbus(request, registers)
