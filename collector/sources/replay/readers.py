"""Readers that turn reading files into ReadingBatch chunks, column by column (pyarrow + numpy).

Supported: CSV long (time, [site], sensor, value, [quality]), CSV wide (time + one column per
sensor), a single series (time, value, [quality]: one sensor, named by `sensor` or the file name, as
public benchmarks such as NAB ship them), Parquet (long, wide or single), InfluxDB line protocol
(measurement `readings`, tags `site` and `sensor`, fields `value` and `quality` — what hazwatch
writes). Rows come out in file order, which for a recording is arrival order: back-filled readings
stay late, as they were received. Unknown sensors and unparseable lines are dropped, counted by
reason (`skipped`) and logged, never fatal — unless nothing at all maps to the config, which is an
error naming what was expected.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from hazwatch.batch import ReadingBatch
from hazwatch.config.registry import SensorRegistry
from hazwatch.quality import QUALITY_NAMES, Quality
from hazwatch.recordings import FileFormat, ReplayFileError, format_of

log = RateLimitedLog(logging.getLogger("hazwatch.replay"))
BLOCK_BYTES = 32 << 20
TIME_COLUMNS = ("time", "timestamp", "ts", "datetime", "_time")
SINGLE_SERIES_COLUMNS = frozenset({"value", "quality"})
"""A file whose only columns besides time are these holds one sensor's series."""
UNKNOWN_SENSOR = "sensor not in the config"
NOT_LINE_PROTOCOL = "not line protocol"
OTHER_MEASUREMENT = "measurement other than readings"
_LP_LINE = r"^(?P<measurement>[^, #][^, ]*)(?P<tags>,\S*)? (?P<fields>\S+)(?: (?P<ts>-?\d+))?$"


@dataclass
class SlotResolver:
    """Maps (site, sensor) strings to registry slots through each chunk's small dictionaries."""

    registry: SensorRegistry
    source: str
    default_site: str | None = None
    unknown: set[str] = field(default_factory=set)
    counting: bool = True
    """False while a file is looked ahead at: rows are counted in metrics only on the real pass."""

    def __post_init__(self) -> None:
        sites = {s.site for s in self.registry}
        if self.default_site is None and len(sites) == 1:
            self.default_site = next(iter(sites))
        self._by_id: dict[str, int] = {}
        ambiguous = set()
        for s in self.registry:
            if s.sensor in self._by_id:
                ambiguous.add(s.sensor)
            self._by_id[s.sensor] = s.slot
            self._by_id[s.key] = s.slot
        for sensor in ambiguous:
            del self._by_id[sensor]

    def reject(self, reason: str, rows: int) -> None:
        if self.counting:
            metrics.PAYLOADS_REJECTED.labels(self.source, reason).inc(rows)

    def lookup(self, name: str, site: str | None = None) -> int:
        if site:
            slot = self.registry.slot(site, name)
        else:
            slot = self._by_id.get(name)
            if slot is None and self.default_site is not None:
                slot = self.registry.slot(self.default_site, name)
        return -1 if slot is None else slot

    def resolve(self, sensors: pa.Array, sites: pa.Array | None) -> np.ndarray:
        sensor_codes, sensor_names = _codes(sensors)
        site_codes, site_names = _codes(sites) if sites is not None else (np.full(len(sensor_codes), -1), [])
        # One lookup per distinct (site, sensor) pair; the last row and column stand for a missing value.
        table = np.array(
            [[self.lookup(name, site) for name in sensor_names] + [-1] for site in [*site_names, None]],
            dtype=np.int32,
        )
        slots = table[site_codes, sensor_codes]
        self._count_unknown(slots, sensor_codes, sensor_names)
        return slots

    def _count_unknown(self, slots: np.ndarray, codes: np.ndarray, names: list[str]) -> None:
        missing = slots < 0
        if not missing.any():
            return
        self.reject("unknown_sensor", int(missing.sum()))
        for code in np.unique(codes[missing]):
            name = names[code] if code < len(names) else "(empty)"
            if name not in self.unknown:
                self.unknown.add(name)
                log.warning("unknown-sensor", "replay: sensor %r is not in the config; its rows are skipped", name)


def _codes(array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Dictionary codes (len(names) for null) and the distinct strings they index."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_dictionary(array.type):
        array = pc.dictionary_encode(array.cast(pa.string()))
    names = [str(v) for v in array.dictionary.to_pylist()]
    codes = array.indices.fill_null(len(names)).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, names


def time_ns(column: pa.Array | pa.ChunkedArray, where: str) -> np.ndarray:
    """Timestamps (ISO text parsed by pyarrow, or numbers in s/ms/us/ns, told apart by magnitude) as Unix ns."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            column = pc.assume_timezone(column, "UTC")
        return column.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64()).fill_null(0).to_numpy()
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        values = column.to_numpy(zero_copy_only=False)
        magnitude = float(np.nanmax(np.abs(values))) if len(values) else 0.0
        scale = 1 if magnitude >= 1e17 else 1_000 if magnitude >= 1e14 else 1_000_000 if magnitude >= 1e11 else 1e9
        if pa.types.is_integer(column.type):
            return values.astype(np.int64) * int(scale)
        return np.round(values * scale).astype(np.int64)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            return time_ns(pc.cast(column, pa.timestamp("ns", tz="UTC")), where)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ReplayFileError(f"{where}: time column is not ISO 8601 or a number: {exc}") from None
    raise ReplayFileError(f"{where}: time column has type {column.type}, not a timestamp or number")


def quality_codes(column: pa.Array | pa.ChunkedArray | None, n: int) -> np.ndarray:
    if column is None:
        return np.full(n, Quality.GOOD, dtype=np.uint8)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return column.fill_null(Quality.GOOD).to_numpy(zero_copy_only=False).astype(np.uint8)
    codes, names = _codes(column)
    by_name = {name: code for code, name in QUALITY_NAMES.items()}
    known = [by_name.get(name.strip().lower(), Quality.FAULT) for name in names]
    table = np.array([*known, Quality.GOOD], np.uint8)
    return table[codes]


def _group(text: pa.Array, pattern: str) -> pa.Array:
    """The regex group `v` of each string, null where the pattern does not match (a struct's field alone is not)."""
    found = pc.extract_regex(text, pattern)
    return pc.if_else(found.is_valid(), found.field("v"), pa.scalar(None, pa.string()))


def _numbers(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)


class ReadingFile:
    """One reading file; iterate `batches()` for its rows as ReadingBatches, in file order."""

    def __init__(
        self, path: str | Path, registry: SensorRegistry, site: str | None = None, sensor: str | None = None
    ) -> None:
        """`sensor` names the sensor of a single-series file (time, value); default: the file name's stem."""
        self.path = Path(path)
        if not self.path.is_file():
            raise ReplayFileError(f"{self.path}: no such file")
        self.format = format_of(self.path)
        self.registry = registry
        self.resolver = SlotResolver(registry, "replay", site)
        self.series_sensor = sensor or self.path.name.split(".")[0]
        self.rows_read = 0
        self.skipped: Counter[str] = Counter()
        """Rows dropped, by reason: what the skipped-rows summary prints for every format."""

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def total_rows(self) -> int | None:
        """Rows in the file when the format says so up front (Parquet); None otherwise."""
        if self.format is FileFormat.PARQUET:
            return pq.ParquetFile(self.path).metadata.num_rows
        return None

    def batches(self) -> Iterator[ReadingBatch]:
        """The file's readings; raises ReplayFileError at the end if it held rows but none mapped to a sensor."""
        mapped = 0
        try:
            for record_batch in self._record_batches():
                batch = self._decode(record_batch)
                mapped += len(batch)
                if len(batch):
                    yield batch
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
            raise ReplayFileError(f"{self.path}: {exc}") from None
        if not mapped and self.rows_read:
            raise ReplayFileError(self._nothing_maps())

    def _nothing_maps(self) -> str:
        known = sorted(s.sensor for s in self.registry)
        listed = ", ".join(known[:8]) + (" …" if len(known) > 8 else "")
        found = ", ".join(sorted(self.resolver.unknown)[:8]) or "none"
        reasons = "; ".join(f"{n:,} {reason}" for reason, n in self.skipped.most_common())
        return (
            f"{self.path}: none of its {self.rows_read:,} rows maps to a sensor of the config ({reasons}). "
            f"Expected a long file (time, sensor, value), a wide file with one column per sensor id, or a "
            f"single series (time, value) named by --sensor or its file name, with sensor ids of the config "
            f"({listed}); found: {found}"
        )

    def intervals_s(self) -> dict[int, float]:
        """Median seconds between consecutive readings of each sensor in the file's first block: the cadence
        replay ticks at and the poll promise of sensors without a device."""
        for record_batch in self._record_batches():
            batch = self._decode(record_batch, count=False)
            if not len(batch):
                continue
            order = np.lexsort((batch.time_ns, batch.slot))
            slots, times = batch.slot[order], batch.time_ns[order]
            same = slots[1:] == slots[:-1]
            steps = np.diff(times)[same] / 1e9
            owners = slots[1:][same]
            positive = steps > 0
            return {
                int(slot): float(np.median(steps[positive & (owners == slot)]))
                for slot in np.unique(owners[positive])
            }
        return {}

    def _record_batches(self) -> Iterator[pa.RecordBatch]:
        if self.format is FileFormat.PARQUET:
            yield from pq.ParquetFile(self.path).iter_batches(batch_size=1 << 20)
        elif self.format is FileFormat.CSV:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES),
                convert_options=pacsv.ConvertOptions(
                    column_types={"value": pa.float64(), "sensor": pa.string(), "site": pa.string()},
                    strings_can_be_null=True,
                ),
            )
            yield from reader
        else:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES, column_names=["line"]),
                parse_options=pacsv.ParseOptions(delimiter="\x1f", quote_char=False, escape_char=False),
                convert_options=pacsv.ConvertOptions(column_types={"line": pa.string()}),
            )
            yield from reader

    def _decode(self, rb: pa.RecordBatch, count: bool = True) -> ReadingBatch:
        """`count` False decodes without counting rows or metrics (a look ahead, e.g. for the cadence)."""
        saved = (self.rows_read, self.skipped.copy())
        self.resolver.counting = count
        if self.format is FileFormat.LINE_PROTOCOL:
            batch = self._decode_line_protocol(rb.column(0))
        else:
            names = rb.schema.names
            time_name = self._time_column(rb)
            if "sensor" in names and "value" in names:
                batch = self._decode_long(rb)
            elif "value" in names and set(names) - {time_name} <= SINGLE_SERIES_COLUMNS:
                batch = self._decode_single(rb, time_name)
            else:
                batch = self._decode_wide(rb)
        self.resolver.counting = True
        if not count:
            self.rows_read, self.skipped = saved
        else:
            metrics.READINGS_INGESTED.labels("replay").inc(len(batch))
        return batch

    def _time_column(self, rb: pa.RecordBatch) -> str:
        for name in rb.schema.names:
            if name.lower() in TIME_COLUMNS:
                return name
        raise ReplayFileError(f"{self.path}: no time column (one of {', '.join(TIME_COLUMNS)})")

    def _finish(self, slots: np.ndarray, times: np.ndarray, values: np.ndarray, quality: np.ndarray) -> ReadingBatch:
        self.rows_read += len(slots)
        known = slots >= 0
        if not known.all():
            self.skipped[UNKNOWN_SENSOR] += int((~known).sum())
            slots, times, values, quality = slots[known], times[known], values[known], quality[known]
        return ReadingBatch.from_columns(slots, times, values, quality)

    def _decode_single(self, rb: pa.RecordBatch, time_name: str) -> ReadingBatch:
        times = time_ns(rb.column(time_name), str(self.path))
        slot = self.resolver.lookup(self.series_sensor)
        if slot < 0 and self.series_sensor not in self.resolver.unknown:
            self.resolver.unknown.add(self.series_sensor)
            log.warning(
                "unknown-series",
                "replay: %s holds one series; its sensor %r (--sensor or the file name) is not in the config",
                self.path,
                self.series_sensor,
            )
        if slot < 0:
            self.resolver.reject("unknown_sensor", rb.num_rows)
        quality = quality_codes(rb.column("quality") if "quality" in rb.schema.names else None, rb.num_rows)
        slots = np.full(rb.num_rows, slot, dtype=np.int32)
        return self._finish(slots, times, _numbers(rb.column("value")), quality)

    def _decode_long(self, rb: pa.RecordBatch) -> ReadingBatch:
        names = rb.schema.names
        slots = self.resolver.resolve(rb.column("sensor"), rb.column("site") if "site" in names else None)
        times = time_ns(rb.column(self._time_column(rb)), str(self.path))
        values = _numbers(rb.column("value"))
        quality = quality_codes(rb.column("quality") if "quality" in names else None, len(slots))
        return self._finish(slots, times, values, quality)

    def _decode_wide(self, rb: pa.RecordBatch) -> ReadingBatch:
        time_name = self._time_column(rb)
        times = time_ns(rb.column(time_name), str(self.path))
        sensor_names = [n for n in rb.schema.names if n != time_name]
        columns_slots = []
        for name in sensor_names:
            site, _, sensor = name.rpartition("/")
            columns_slots.append(self.resolver.lookup(sensor, site or None))
            if columns_slots[-1] < 0 and name not in self.resolver.unknown:
                self.resolver.unknown.add(name)
                log.warning("unknown-column", "replay: column %r is not a sensor of the config; skipped", name)
        if any(s < 0 for s in columns_slots):
            self.resolver.reject("unknown_sensor", rb.num_rows * sum(s < 0 for s in columns_slots))
        keep = [i for i, s in enumerate(columns_slots) if s >= 0]
        if not keep:
            self.rows_read += rb.num_rows
            self.skipped[UNKNOWN_SENSOR] += rb.num_rows
            return ReadingBatch.empty()
        matrix = np.column_stack([_numbers(rb.column(sensor_names[i])) for i in keep])
        present = ~np.isnan(matrix)
        rows, cols = np.nonzero(present)
        slots = np.asarray([columns_slots[i] for i in keep], dtype=np.int32)[cols]
        return self._finish(slots, times[rows], matrix[rows, cols], np.zeros(len(rows), dtype=np.uint8))

    def _decode_line_protocol(self, lines: pa.Array) -> ReadingBatch:
        parsed = pc.extract_regex(lines, _LP_LINE)
        valid = parsed.is_valid()
        comment = pc.starts_with(lines, "#")
        bad = int(pc.sum(pc.and_(pc.invert(valid), pc.invert(comment))).as_py() or 0)
        if bad:
            self.resolver.reject("bad_line", bad)
            log.warning("bad-line", "replay: %d line(s) of %s are not line protocol; skipped", bad, self.path)
            self.rows_read += bad
            self.skipped[NOT_LINE_PROTOCOL] += bad
        parsed = parsed.filter(valid)
        readings = pc.equal(parsed.field("measurement"), "readings")
        others = len(parsed) - int(pc.sum(readings).as_py() or 0)
        if others:
            self.rows_read += others
            self.skipped[OTHER_MEASUREMENT] += others
        parsed = parsed.filter(readings)
        tags = parsed.field("tags").fill_null("")
        sensors = _group(tags, r",sensor=(?P<v>[^,]*)")
        sites = _group(tags, r",site=(?P<v>[^,]*)")
        fields = parsed.field("fields")
        value_text = _group(fields, r"(?:^|,)value=(?P<v>[^,]*)")
        values = pc.cast(value_text, pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        quality_text = _group(fields, r"(?:^|,)quality=(?P<v>\d+)i?")
        quality = pc.cast(quality_text, pa.uint8()).fill_null(Quality.GOOD).to_numpy(zero_copy_only=False)
        stamps = parsed.field("ts")
        if stamps.null_count:
            raise ReplayFileError(f"{self.path}: line protocol without timestamps cannot be replayed")
        times = pc.cast(stamps, pa.int64()).to_numpy(zero_copy_only=False)
        slots = self.resolver.resolve(sensors, sites)
        return self._finish(slots, times, values, quality.astype(np.uint8))
