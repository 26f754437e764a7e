"""readings/s against sensor count for the stack and the baselines (docs/performance.md's figure)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

LABELS = {"stack": "hazwatch detector stack", "python": "per-reading pure Python", "river": "River HalfSpaceTrees"}


def readings_vs_sensors(by_size: dict[str, dict], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for name, label in LABELS.items():
        points = sorted((int(n), row[name]) for n, row in by_size.items() if row.get(name))
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", label=label)
    ax.axhline(10e6, color="grey", linestyle="--", linewidth=1, label="target 10 M readings/s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sensors (example coal mine replicated)")
    ax.set_ylabel("readings/s on one core")
    ax.set_title("Detector throughput vs fleet size (one 2-s poll cycle per batch)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
