"""The replay runner drives the real detector stack in data time: deterministic, late data stays late."""

import numpy as np

from collector.evaluation.replay.runner import ReplayRunner
from collector.evaluation.replay.stack import build_stack
from collector.evaluation.scenarios.runner import rendering_batch
from collector.sources.replay.readers import ReadingFile
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.events import Transition
from simulators.export import write_rendering
from simulators.scenarios.loader import load_scenario, render_scenario


class Recorder:
    """A detector that records what it is given, to see the runner's batching and ticking."""

    def __init__(self):
        self.batches: list[ReadingBatch] = []
        self.ticks: list[int] = []

    def update(self, batch):
        self.batches.append(batch)
        return []

    def tick(self, now_ns):
        self.ticks.append(now_ns)
        return []


def test_batches_follow_the_data_clock_and_ticks_fill_the_gaps():
    s = 1_000_000_000
    times = np.array([0, 0, 1, 1, 2, 10, 1, 11]) * s + 5 * 10**17
    chunk = ReadingBatch.from_columns(np.arange(8) % 3, times, np.ones(8))
    recorder = Recorder()
    result = ReplayRunner(recorder, batch_s=1.0, tick_s=1.0).run([chunk.take(slice(0, 3)), chunk.take(slice(3, 8))])
    sizes = [len(b) for b in recorder.batches]
    assert sizes == [2, 2, 1, 2, 1]
    assert recorder.batches[3].time_ns.tolist() == [10 * s + 5 * 10**17, 1 * s + 5 * 10**17], (
        "a late reading joins the batch of the moment it arrived"
    )
    assert [(t - 5 * 10**17) // s for t in recorder.ticks] == list(range(1, 12))
    assert result.readings == 8 and result.batches == 5


def test_speed_paces_data_time_against_the_wall_clock():
    slept = []
    s = 1_000_000_000
    chunk = ReadingBatch.from_columns([0, 0, 0], np.array([0, 10, 20]) * s + 10**18, [1.0, 1.0, 1.0])
    ReplayRunner(Recorder(), speed=10.0, sleep=slept.append).run([chunk])
    assert len(slept) == 2 and 0.9 < slept[-1] < 2.1


def test_replaying_an_export_raises_the_same_alarms_as_the_scenario_itself(tmp_path, mine_config):
    scenario = load_scenario("face-methane-surge")
    registry = SensorRegistry.from_config(mine_config)
    rendering = render_scenario(mine_config, scenario)
    direct = ReplayRunner(build_stack(mine_config, registry), batch_s=2.0).run([rendering_batch(rendering, registry)])
    write_rendering(rendering, tmp_path / "surge.parquet")
    replayed = ReplayRunner(build_stack(mine_config, registry), batch_s=2.0).run(
        ReadingFile(tmp_path / "surge.parquet", registry).batches()
    )
    assert [e.event_id for e in replayed.events] == [e.event_id for e in direct.events]
    cut = [e for e in direct.events if e.transition in (Transition.RAISE, Transition.ESCALATE) and e.level == 2]
    assert {registry.sensors[e.slot].sensor for e in cut} >= {"LW-CH4-T1", "LW-CH4-T2"}
