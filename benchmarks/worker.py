"""Entry point of the pinned measurement processes (see procs.py): `python -m benchmarks.worker TASK JSON`."""

from __future__ import annotations

import json
import sys

from benchmarks.procs import pin_to_one_core


def main() -> None:
    task, kwargs = sys.argv[1], json.loads(sys.argv[2])
    pin_to_one_core()
    from benchmarks import detectors, memory

    tasks = {
        "stack": detectors.stack_worker,
        "python": detectors.python_worker,
        "river": detectors.river_worker,
        "profile": detectors.profile_worker,
        "memory": memory.memory_worker,
    }
    print(json.dumps(tasks[task](**kwargs)))


if __name__ == "__main__":
    main()
