"""How long a group commit of the write-ahead log takes on this disk: append 100 lines, wait until durable.

    .venv/bin/python scripts/wal_commit_latency.py [FOLDER]   # FOLDER on the disk the state folder will use
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time

from collector.storage.wal import WriteAheadLog

LINE = b"readings,site=s,area=a,sensor=x,kind=CH4 value=1.5,quality=0i 1700000000000000000\n"


def main() -> None:
    folder = tempfile.mkdtemp(dir=sys.argv[1] if len(sys.argv) > 1 else None)
    wal = WriteAheadLog(folder, lambda item: item)
    seconds: list[float] = []
    for _ in range(300):
        durable = threading.Event()
        started = time.perf_counter()
        wal.append(LINE * 100, 100)
        wal.when_durable(durable.set)
        durable.wait()
        seconds.append(time.perf_counter() - started)
        time.sleep(0.005)
    wal.close()
    seconds.sort()
    print(
        f"group commit (write + fsync) of 100 lines in {folder}, {len(seconds)} rounds: "
        f"median {statistics.median(seconds) * 1e3:.2f} ms, p99 {seconds[int(len(seconds) * 0.99)] * 1e3:.2f} ms, "
        f"max {seconds[-1] * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
