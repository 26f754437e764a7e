"""The columnar fast path for the common gateway message: a list of flat objects with the same keys.

Columns are pulled out of the parsed JSON with one list comprehension per field and checked with
numpy; only a row that is not plainly valid (an unknown id, a string or non-finite value, a quality
word in another spelling, a float or text timestamp, ...) is left to the per-item decoder, which
accepts or rejects it exactly as it would have. So the fast path changes speed, never results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hazwatch.batch import QUALITY_DTYPE, SLOT_DTYPE, TIME_DTYPE, VALUE_DTYPE, ReadingBatch
from hazwatch.quality import Quality

_ABSENT = object()
_NOT_SIMPLE = -1
_NS_MAX = 2**63 - 1
_NUMBER_TYPES = (int, float)
_GOOD = int(Quality.GOOD)


@dataclass(frozen=True, slots=True)
class ItemKeys:
    """The item-level keys of a gateway topic whose value/time/quality/id paths are one level deep."""

    sensor: str
    value: str
    time: str | None
    quality: str | None


@dataclass(frozen=True, slots=True)
class SimpleRows:
    batch: ReadingBatch
    """The plainly valid rows, in item order."""
    positions: np.ndarray
    """Where each of `batch`'s rows sits in the item list."""
    rest: np.ndarray
    """Item positions the per-item decoder must take (to accept with its full rules, or to reject)."""


def quality_codes(words: dict[str, int]) -> dict[str | int, int]:
    """Exact spellings the fast path resolves: every quality word as listed and every integer code."""
    return {**words, **{int(q): int(q) for q in Quality}}


def _epoch_ns(epochs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer epochs in s/ms/µs/ns (by magnitude) as ns, and which were positive and within int64."""
    factor = np.select([epochs < 10**11, epochs < 10**14, epochs < 10**17], [10**9, 10**6, 10**3], 1)
    ok = (epochs > 0) & (epochs <= _NS_MAX // factor)
    return np.where(ok, epochs * np.where(ok, factor, 1), 0), ok


def simple_rows(
    items: list[dict],
    keys: ItemKeys,
    slots: dict[str, int],
    qualities: dict[str | int, int],
    received_ns: int,
    root_time_ns: int | None,
    root_quality: int | None,
) -> SimpleRows | None:
    """`root_time_ns` / `root_quality` are what an item without its own time / quality gets (None when
    the message's own is invalid, so those items are left to the per-item decoder). None when the
    message is not the common shape at all (integers beyond 64 bits)."""
    missing_time = _NOT_SIMPLE if root_time_ns is None else root_time_ns
    missing_quality = _NOT_SIMPLE if root_quality is None else root_quality
    slot = np.array([slots.get(s, _NOT_SIMPLE) if type(s) is str else _NOT_SIMPLE for s in
                     [item.get(keys.sensor) for item in items]], dtype=np.int64)  # fmt: skip
    raw_values = [item.get(keys.value) for item in items]
    try:
        value = np.array([v if type(v) in _NUMBER_TYPES else np.nan for v in raw_values], dtype=VALUE_DTYPE)
    except OverflowError:
        return None
    simple = (slot >= 0) & np.isfinite(value)
    if keys.quality is None:
        quality = np.full(len(items), _GOOD, dtype=np.int64)
    else:
        raw = [item.get(keys.quality, _ABSENT) for item in items]
        quality = np.array(
            [qualities.get(q, _NOT_SIMPLE) if type(q) in (str, int) else
             _GOOD if q is None else missing_quality if q is _ABSENT else _NOT_SIMPLE for q in raw],
            dtype=np.int64,
        )  # fmt: skip
        simple &= quality >= 0
    if keys.time is None:
        time_ns = np.full(len(items), received_ns, dtype=TIME_DTYPE)
    else:
        raw = [item.get(keys.time, _ABSENT) for item in items]
        preset = np.array(
            [0 if type(t) is int else received_ns if t is None else missing_time if t is _ABSENT else _NOT_SIMPLE
             for t in raw],
            dtype=np.int64,
        )  # fmt: skip
        try:
            epochs = np.array([t if type(t) is int else 0 for t in raw], dtype=np.int64)
        except OverflowError:
            return None
        stamped, stamped_ok = _epoch_ns(epochs)
        is_epoch = preset == 0
        time_ns = np.where(is_epoch, stamped, preset)
        simple &= np.where(is_epoch, stamped_ok, preset > 0)
    positions = np.flatnonzero(simple)
    batch = ReadingBatch(
        slot[positions].astype(SLOT_DTYPE),
        time_ns[positions].astype(TIME_DTYPE),
        value[positions],
        quality[positions].astype(QUALITY_DTYPE),
    )
    return SimpleRows(batch, positions, np.flatnonzero(~simple))


def flat_rows(
    ids: list,
    values: list,
    times: list,
    slots: dict[str, int],
    received_ns: int,
    qualities: list | None = None,
    quality_words: dict[str | int, int] | None = None,
) -> SimpleRows:
    """The plainly valid rows of readings already laid out as parallel columns (line protocol, ThingsBoard).

    `times` holds integer epochs (s/ms/µs/ns by magnitude) or None (the receive time); `qualities`, when
    given, holds raw quality words or codes (None: good), resolved through `quality_words`. Every other
    row (unknown id, non-numeric value, odd time or quality) is left in `rest` for the per-row rules.
    """
    slot = np.array([slots.get(s, _NOT_SIMPLE) if type(s) is str else _NOT_SIMPLE for s in ids], dtype=np.int64)
    value = np.array([v if type(v) in _NUMBER_TYPES and abs(v) < 1e308 else np.nan for v in values],
                     dtype=VALUE_DTYPE)  # fmt: skip
    simple = (slot >= 0) & np.isfinite(value)
    preset = np.array([0 if type(t) is int and 0 < t <= _NS_MAX else received_ns if t is None else _NOT_SIMPLE
                       for t in times], dtype=np.int64)  # fmt: skip
    epochs = np.array([t if type(t) is int and 0 < t <= _NS_MAX else 0 for t in times], dtype=np.int64)
    stamped, stamped_ok = _epoch_ns(epochs)
    is_epoch = preset == 0
    time_ns = np.where(is_epoch, stamped, preset)
    simple &= np.where(is_epoch, stamped_ok, preset > 0)
    if qualities is None:
        quality = np.full(len(ids), _GOOD, dtype=np.int64)
    else:
        words = quality_words or {}
        quality = np.array([_GOOD if q is None else words.get(q, _NOT_SIMPLE) if type(q) in (str, int) else
                            _NOT_SIMPLE for q in qualities], dtype=np.int64)  # fmt: skip
        simple &= quality >= 0
    positions = np.flatnonzero(simple)
    batch = ReadingBatch(
        slot[positions].astype(SLOT_DTYPE),
        time_ns[positions].astype(TIME_DTYPE),
        value[positions],
        quality[positions].astype(QUALITY_DTYPE),
    )
    return SimpleRows(batch, positions, np.flatnonzero(~simple))
