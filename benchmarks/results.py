"""The results record: every key always present (null plus a reason when not measured), the table, the JSON."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS_FILE = Path(__file__).resolve().parent / "results.json"

REQUIRED_KEYS = (
    "detectors_readings_per_s",
    "detectors_speedup_vs_python",
    "detectors_speedup_vs_river",
    "lineprotocol_speedup_vs_influxdb_client",
    "e2e_readings_per_s",
    "alarm_latency_p50_ms",
    "alarm_latency_p99_ms",
    "modbus_requests_per_s",
    "rss_bytes_per_sensor",
    "e2e_fraction_of_store_ceiling",
    "cli_help_seconds",
)


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    goal: float
    higher_is_better: bool = True
    unit: str = ""


TARGETS = (
    Target("detectors_readings_per_s", "detector stack, 10k sensors, one core", 10e6, unit="readings/s"),
    Target("detectors_speedup_vs_python", "  vs per-reading pure Python", 50, unit="×"),
    Target("detectors_speedup_vs_river", "  vs River HalfSpaceTrees", 100, unit="×"),
    Target("lineprotocol_speedup_vs_influxdb_client", "line protocol vs influxdb-client Point", 5, unit="×"),
    Target("e2e_readings_per_s", "MQTT → hazwatch → influxd, zero loss", 200e3, unit="readings/s"),
    Target(
        "e2e_fraction_of_store_ceiling", "  end to end / influxd alone, same shape, same run", 0.9, unit="of ceiling"
    ),
    Target("alarm_latency_p50_ms", "alarm latency p50 under load", 100, higher_is_better=False, unit="ms"),
    Target("alarm_latency_p99_ms", "alarm latency p99 under load", 100, higher_is_better=False, unit="ms"),
    Target("modbus_requests_per_s", "Modbus polling", 0, unit="requests/s"),
    Target(
        "rss_bytes_per_sensor", "resident memory per sensor (largest fleet)", 1024, higher_is_better=False, unit="B"
    ),
    Target("cli_help_seconds", "`hazwatch --help` start (median)", 0.3, higher_is_better=False, unit="s"),
)


@dataclass
class Results:
    mode: str
    values: dict[str, object] = field(default_factory=dict)
    not_measured: dict[str, str] = field(default_factory=dict)

    def set(self, key: str, value: object) -> None:
        self.values[key] = value

    def missing(self, keys: tuple[str, ...] | list[str], reason: str) -> None:
        for key in keys:
            self.values.setdefault(key, None)
            self.not_measured[key] = reason

    def as_dict(self) -> dict[str, object]:
        out = {key: self.values.get(key) for key in REQUIRED_KEYS}
        out.update({k: v for k, v in self.values.items() if k not in out})
        out["targets"] = {target.key: self.verdict(target) for target in TARGETS if target.goal}
        out["not_measured"] = self.not_measured
        out["mode"] = self.mode
        out["machine"] = machine()
        return out

    def verdict(self, target: Target) -> dict[str, object]:
        """The figure, the goal and 'met', 'missed' or 'not measured': what the table shows, in the JSON."""
        value = self.values.get(target.key)
        if not isinstance(value, int | float):
            status = "not measured"
        else:
            met = value >= target.goal if target.higher_is_better else value <= target.goal
            status = "met" if met else "missed"
        return {"value": value, "goal": target.goal, "higher_is_better": target.higher_is_better, "status": status}

    def write(self, path: Path = RESULTS_FILE) -> Path:
        path.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=False) + "\n")
        return path

    def table(self) -> Table:
        table = Table(title=f"hazwatch benchmarks ({self.mode})")
        for column in ("measurement", "result", "target", "status"):
            table.add_column(column, justify="left" if column == "measurement" else "right")
        for target in TARGETS:
            value = self.values.get(target.key)
            if value is None:
                reason = self.not_measured.get(target.key, "not measured")
                table.add_row(target.label, "—", _goal(target), f"[yellow]{reason}[/]")
                continue
            met = value >= target.goal if target.higher_is_better else value <= target.goal
            status = "[green]met[/]" if met else "[red]missed[/]"
            table.add_row(target.label, f"{_fmt(value)} {target.unit}", _goal(target), status if target.goal else "")
        return table

    def print(self, console: Console | None = None) -> None:
        (console or Console()).print(self.table())


def _goal(target: Target) -> str:
    if not target.goal:
        return ""
    return f"{'≥' if target.higher_is_better else '≤'} {_fmt(target.goal)} {target.unit}"


def _fmt(value: object) -> str:
    if not isinstance(value, int | float):
        return str(value)
    if abs(value) >= 1e6:
        return f"{value / 1e6:.2f} M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f} k"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def machine() -> dict[str, object]:
    def run(*command: str) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    model = next((line.split(":", 1)[1].strip() for line in run("lscpu").splitlines() if "Model name" in line), "")
    return {
        "cpu": model,
        "nproc": run("nproc"),
        "memory": next((line for line in run("free", "-h").splitlines() if line.startswith("Mem:")), ""),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
