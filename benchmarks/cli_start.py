"""How long `hazwatch --help` and `hazwatch check` take to start: fresh processes, timed back to back, the way
hyperfine does it (warm-up runs first so the page cache is not what is measured)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from hazwatch.config.examples import EXAMPLES

COMMANDS = {
    "help": ["--help"],
    "check": ["check", str(Path(EXAMPLES) / "chemical-plant.yaml")],
}


def _time(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "collector", *args], check=True, capture_output=True, timeout=60)
    return time.perf_counter() - started


def measure(runs: int = 10, warmup: int = 2) -> dict[str, dict[str, float]]:
    """Per command: min, median and max wall seconds over `runs` runs after `warmup` discarded ones."""
    out = {}
    for name, args in COMMANDS.items():
        for _ in range(warmup):
            _time(args)
        seconds = [_time(args) for _ in range(runs)]
        out[name] = {"min_s": min(seconds), "median_s": statistics.median(seconds), "max_s": max(seconds)}
    return out


if __name__ == "__main__":
    for command, figures in measure().items():
        print(command, " ".join(f"{k}={v:.3f}" for k, v in figures.items()))
