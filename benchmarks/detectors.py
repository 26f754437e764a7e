"""Detector stack readings/s on one core, side by side with per-reading Python and River.

Each size runs in its own pinned process. The stream is what the pipeline sees: one batch per
2-s poll cycle of every sensor (realistic mine readings, a few warm areas over their warning
limit), and a `tick` after each batch for the time-driven rules (dead-man, delays).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from benchmarks.fleet import POLL_INTERVAL_NS, START_NS, Fleet, build_fleet

NOT_LANDED = "not measured: collector.pipeline.detection.build_detector_stack is not importable"


def stack_builder() -> tuple[Callable | None, str]:
    try:
        from collector.pipeline.detection import build_detector_stack
    except ImportError as exc:
        return None, f"{NOT_LANDED} ({exc})"
    return build_detector_stack, ""


def build_stack(fleet: Fleet):
    from detectors.alarms.lifecycle import AlarmLifecycle

    build, reason = stack_builder()
    if build is None:
        raise RuntimeError(reason)
    return build(fleet.registry, fleet.config, AlarmLifecycle())


def timed_stream(
    update: Callable, tick: Callable | None, fleet: Fleet, seconds: float, warmup: int, per_batch: int = 1
) -> dict:
    """Feed poll cycles (`per_batch` per update) until `seconds` have passed (at least 3 timed updates);
    readings/s of the timed part."""
    events = 0
    for cycle in range(warmup):
        events += len(update(fleet.batch(cycle)))
    cycle = warmup
    started = time.perf_counter()
    while True:
        batch = fleet.batch(cycle) if per_batch == 1 else fleet.cycles_batch(cycle, per_batch)
        events += len(update(batch))
        cycle += per_batch
        if tick is not None:
            events += len(tick(START_NS + (cycle - 1) * POLL_INTERVAL_NS + POLL_INTERVAL_NS // 2))
        elapsed = time.perf_counter() - started
        if elapsed >= seconds and cycle - warmup >= 3 * per_batch:
            break
    timed = cycle - warmup
    return {
        "sensors": fleet.sensors,
        "cycles": timed,
        "seconds": elapsed,
        "readings_per_s": timed * fleet.sensors / elapsed,
        "events": events,
    }


def stack_worker(sensors: int, seconds: float, per_batch: int = 1) -> dict:
    fleet = build_fleet(sensors)
    stack = build_stack(fleet)
    return timed_stream(stack.update, stack.tick, fleet, seconds, warmup=2, per_batch=per_batch)


def python_worker(sensors: int, seconds: float) -> dict:
    from benchmarks.baselines.python_rules import PerReadingRules

    fleet = build_fleet(sensors)
    rules = PerReadingRules(fleet.registry)
    return timed_stream(rules.update, rules.tick, fleet, seconds, warmup=1)


def river_worker(sensors: int, seconds: float) -> dict:
    from benchmarks.baselines.river_scoring import RiverScoring

    fleet = build_fleet(sensors)
    river = RiverScoring(fleet.registry)
    return timed_stream(lambda batch: [None] * river.update(batch), None, fleet, seconds, warmup=0)


def profile_worker(sensors: int, seconds: float) -> dict:
    """pyinstrument over the stack's timed stream: the top frames by own time, for docs/performance.md."""
    from pyinstrument import Profiler

    fleet = build_fleet(sensors)
    stack = build_stack(fleet)
    timed_stream(stack.update, stack.tick, fleet, 0.5, warmup=2)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    result = timed_stream(stack.update, stack.tick, fleet, seconds, warmup=0)
    profiler.stop()
    session = profiler.last_session
    own: dict[str, float] = {}

    def walk(frame) -> None:
        if frame is None:
            return
        key = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        own[key] = own.get(key, 0.0) + frame.total_self_time
        for child in frame.children:
            walk(child)

    walk(session.root_frame())
    total = sum(own.values()) or 1.0
    top = sorted(own.items(), key=lambda item: -item[1])[:12]
    result["hot_spots"] = [{"frame": name, "share": round(t / total, 3)} for name, t in top]
    result["profile_text"] = profiler.output_text(unicode=False, color=False, show_all=False)[:6000]
    return result
