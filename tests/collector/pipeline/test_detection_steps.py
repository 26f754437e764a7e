"""A backlog is detected a bounded step at a time: an alarm goes out before the readings queued behind it are
detected, and a message is still acknowledged only after its readings went to storage."""

import asyncio

import numpy as np

from collector.pipeline.detection import build_detector_stack
from collector.pipeline.loop import STEP_READINGS, Pipeline
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry, load_configs
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.kinds import SensorKind
from hazwatch.events import AlarmEvent
from hazwatch.quality import Quality

START_NS = 1_750_000_000_000_000_000


class Recorder:
    """Reading and event sink in one, noting the order in which things reached it."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []
        self.readings = 0

    def submit(self, batch: ReadingBatch) -> None:
        self.readings += len(batch)
        self.log.append(("readings", len(batch)))

    def submit_events(self, events: list[AlarmEvent]) -> None:
        raised = [e for e in events if e.transition.value == "raise" and e.rule.startswith("threshold")]
        self.log += [("raise", e.slot) for e in raised]

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def close(self) -> None:
        return


def _cycles(registry: SensorRegistry, slot: int, cycles: int, high_at: int) -> list[ReadingBatch]:
    """`cycles` poll cycles of every sensor at 0.2 (quiet for methane), one sensor far over its limit in one cycle."""
    n = len(registry)
    out = []
    for k in range(cycles):
        values = np.full(n, 0.2)
        if k == high_at:
            values[slot] = 3.0
        out.append(ReadingBatch(np.arange(n, dtype=np.int32), np.full(n, START_NS + k * 2_000_000_000), values,
                                np.full(n, Quality.GOOD, dtype=np.uint8)))  # fmt: skip
    return out


def test_an_alarm_in_a_backlog_goes_out_before_the_readings_queued_behind_it_are_detected() -> None:
    config = load_configs([EXAMPLES / "coal-mine.yaml"])
    site = config.sites[0]
    config = config.model_copy(update={"sites": [site.model_copy(update={"id": f"m{i}"}) for i in range(60)]})
    registry = SensorRegistry.from_config(config)
    methane = next(s.slot for s in registry if s.kind is SensorKind.CH4 and s.site == "m0")
    cycles = 3 * STEP_READINGS // len(registry) + 4
    batches = _cycles(registry, methane, cycles, high_at=1)
    recorder = Recorder()
    acked_after: list[tuple[int, int]] = []
    pipeline = Pipeline([], build_detector_stack(registry, config, AlarmLifecycle()), [recorder], [recorder])

    async def run() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(pipeline.run(stop))
        total = 0
        for batch in batches:  # all queued before the pipeline gets the loop: a backlog
            total += len(batch)
            pipeline.emit(batch, on_durable=lambda end=total: acked_after.append((end, recorder.readings)))
        while recorder.readings < total:
            await asyncio.sleep(0.01)
        stop.set()
        await running

    asyncio.run(run())
    steps = [size for what, size in recorder.log if what == "readings"]
    assert sum(steps) == len(batches) * len(registry)
    assert max(steps) <= STEP_READINGS and len(steps) >= 4
    raised = recorder.log.index(("raise", methane))
    assert sum(size for what, size in recorder.log[:raised] if what == "readings") < STEP_READINGS, (
        "the alarm went out after the first step, before the rest of the backlog was detected"
    )
    assert len(acked_after) == len(batches)
    assert all(stored >= end for end, stored in acked_after), "a message was acknowledged before its readings"
