"""Run one measurement in a fresh interpreter, pinned to one core, and read its JSON answer.

A fresh process per measurement keeps resident memory honest (nothing left over from the
previous size) and pinning makes "readings/s on one core" mean exactly that on a 2-core box.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (no dependency, Linux only)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def pin_to_one_core() -> None:
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[-1]})


def run_worker(task: str, timeout: float, **kwargs: object) -> dict:
    """`python -m benchmarks.worker TASK JSON` → the dict it printed last; errors come back as {'error': ...}."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.worker", task, json.dumps(kwargs)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"{task} took longer than {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"error": f"{task} failed (exit {done.returncode}): {' | '.join(tail)}"}
    return json.loads(lines[-1])
