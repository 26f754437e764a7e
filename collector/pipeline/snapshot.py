"""Restart without storms: the detector stack's state, saved every few seconds and restored on start.

A worker killed with `kill -9` and restarted by its supervisor would otherwise start every window empty:
rate-of-rise, drift baselines, STEL/TWA integrals, on-delay timers and the dead-man clocks. The alarm
lifecycle is persisted on its own (collector/alarms/store.py, after every event); this is the rest.

The whole stack is pickled (numpy arrays go out as raw buffers, protocol 5) except what is rebuilt from the
config on every start: the sensor registry and the alarm lifecycle are written as references and re-attached
to the fresh ones on load. A snapshot from another config (another set of sensors, limits, partition or
detector settings) is refused by its fingerprint and the stack starts fresh. The file is written next to the
alarm state through a temporary file, fsync and rename, so a crash mid-write leaves the previous snapshot.

The pickle is read only from the worker's own state directory, written only by the worker itself: the same
trust as the SQLite alarm store beside it.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import pickle
import time
from pathlib import Path
from typing import NamedTuple

from detectors.engine.stack import DetectorStack
from hazwatch.batch import ReadingBatch
from hazwatch.config.registry import SensorRegistry

log = logging.getLogger("hazwatch.snapshot")

SNAPSHOT_VERSION = 2
"""Raised when pickled detector state changes shape (2: group rules' specs gained their unit slot, and the rules'
per-slot state got leaner), so an older snapshot is refused and the detectors start fresh instead of running on
state they cannot read."""
FILE_NAME = "detectors.snapshot"


def fingerprint(*parts: str) -> str:
    """What a snapshot must match to be restored: the config's sites and settings, the partition, the build."""
    digest = hashlib.sha256()
    for part in (str(SNAPSHOT_VERSION), *parts):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, externals: dict[int, str]) -> None:
        super().__init__(file, protocol=5)
        self.externals = externals

    def persistent_id(self, obj: object) -> str | None:
        return self.externals.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, externals: dict[str, object]) -> None:
        super().__init__(file)
        self.externals = externals

    def persistent_load(self, pid: str) -> object:
        return self.externals[pid]


class Restored(NamedTuple):
    stack: DetectorStack
    saved_ns: int
    """When the snapshot was taken: readings stored after it are replayed (collector/storage/warmup.py)."""


class DetectorSnapshots:
    """Saves and restores one stack's state in `state_dir`."""

    def __init__(self, state_dir: Path, registry: SensorRegistry, config_fingerprint: str) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self.registry = registry
        self.fingerprint = config_fingerprint

    def dumps(self, stack: DetectorStack) -> bytes:
        """On the detection loop: a consistent copy (between two batches). Writing it can then go to a thread."""
        buffer = io.BytesIO()
        pickle.dump({"fingerprint": self.fingerprint, "saved_ns": time.time_ns()}, buffer, protocol=5)
        externals = {id(self.registry): "registry", id(stack.lifecycle): "lifecycle"}
        _Pickler(buffer, externals).dump(stack)
        return buffer.getvalue()

    def write(self, data: bytes) -> None:
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)

    def restore(self, fresh: DetectorStack) -> Restored | None:
        """The saved stack re-attached to `fresh`'s lifecycle and this registry, or None (no or foreign snapshot)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        buffer = io.BytesIO(data)
        try:
            header = pickle.load(buffer)
            if header.get("fingerprint") != self.fingerprint:
                log.warning("detector snapshot %s is from another config: starting the detectors fresh", self.path)
                return None
            stack = _Unpickler(buffer, {"registry": self.registry, "lifecycle": fresh.lifecycle}).load()
        except Exception as error:  # a damaged file must not stop a safety system from starting
            log.error("detector snapshot %s unreadable (%r): starting the detectors fresh", self.path, error)
            return None
        if not isinstance(stack, DetectorStack) or stack.n_slots != fresh.n_slots:
            log.warning("detector snapshot %s does not fit this registry: starting the detectors fresh", self.path)
            return None
        age_s = (time.time_ns() - int(header["saved_ns"])) / 1e9
        log.info("detector state restored from %s (saved %.1f s ago)", self.path, age_s)
        return Restored(stack, int(header["saved_ns"]))


class SnapshotWriter:
    """A ReadingSink that snapshots the stack every `interval` seconds after new readings, and once on close."""

    def __init__(self, snapshots: DetectorSnapshots, stack: DetectorStack, interval: float = 5.0) -> None:
        self.snapshots = snapshots
        self.stack = stack
        self.interval = interval
        self._dirty = False

    def submit(self, batch: ReadingBatch) -> None:
        self._dirty = self._dirty or bool(len(batch))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self._dirty:
                await self.save()

    async def save(self) -> None:
        self._dirty = False
        data = self.snapshots.dumps(self.stack)
        try:
            await asyncio.to_thread(self.snapshots.write, data)
        except OSError as error:
            self._dirty = True
            log.error("cannot save the detector snapshot %s: %s", self.snapshots.path, error)

    async def close(self) -> None:
        await self.save()
