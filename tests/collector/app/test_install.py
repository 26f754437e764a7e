"""`pip install .` (not editable) gives a working hazwatch: files are found inside the installed packages, so the
demo and the scenario library run from any directory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from collector.evaluation.skab import default_data_dir

CHECKOUT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with hazwatch built from a copy of the checkout (a build leaves nothing in the checkout) and
    installed; its dependencies come from the test venv's site-packages (a path entry, not a site dir, so the
    editable install there is not seen)."""
    workdir = tmp_path_factory.mktemp("install")
    source = workdir / "source"
    skip = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__")
    shutil.copytree(CHECKOUT, source, ignore=skip)
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    Path(purelib, "hazwatch-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", str(source)],
        check=True, timeout=300,
    )
    return venv


def _hazwatch(venv: Path, *args: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    command = [str(venv / "bin" / "hazwatch"), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False)


def test_the_installed_package_is_imported_from_the_venv_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    where = "import collector, hazwatch.config.examples as e; print(collector.__file__, e.EXAMPLES)"
    result = subprocess.run(
        [installed / "bin" / "python", "-c", where],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )
    module, examples = result.stdout.split()
    assert not module.startswith(str(CHECKOUT)) and not examples.startswith(str(CHECKOUT))
    assert (Path(examples) / "coal-mine.yaml").is_file()


def test_the_demo_runs_from_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    result = _hazwatch(installed, "demo", "--duration", "20", "--no-view", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "hazwatch demo ran" in result.stdout


def test_evaluate_finds_its_scenarios_from_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    result = _hazwatch(
        installed, "evaluate", "--json", "--data-dir", str(default_data_dir()), cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert len(report["scenarios"]) == 13
    assert all(s["passed"] for s in report["scenarios"])
