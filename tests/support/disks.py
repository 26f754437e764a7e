"""A real small disk for full-disk tests: a tmpfs of a few megabytes, mounted for the test and removed after."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(where: Path, size: str = "2m") -> Iterator[Path]:
    """Mount a tmpfs of `size` at `where` (needs root); the test is skipped, saying why, where mounting is refused."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for a full-disk test: {mounted.stderr.strip() or 'not root'}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, name: str = "ballast") -> Path:
    """Fill `disk` to the last byte with one file; delete the file to give the space back."""
    ballast = disk / name
    with open(ballast, "wb", buffering=0) as handle:
        for block in (65536, 1):
            try:
                while handle.write(b"\0" * block):
                    pass
            except OSError:
                pass
    return ballast
