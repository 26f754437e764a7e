"""The supervisor files in deploy/ say what hazwatch does: they parse, and they point at its real options.

Kubernetes and systemd cannot run here; these checks keep the manifests and the unit in step with the CLI
(probe paths, the metrics port, the partition arguments, the PodDisruptionBudget's selector).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from hazwatch.config.loader import parse_config

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def _manifests() -> dict[str, dict]:
    documents = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            documents[f"{document['kind']}/{document['metadata']['name']}"] = document
    return documents


def _hazwatch_help(*command: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "collector", *command, "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_manifest_parses_and_the_config_map_holds_a_valid_site_config() -> None:
    documents = _manifests()
    assert {"StatefulSet/hazwatch-core", "PodDisruptionBudget/hazwatch-core", "ConfigMap/hazwatch-config"} <= set(
        documents
    )
    parse_config(yaml.safe_load(documents["ConfigMap/hazwatch-config"]["data"]["site.yaml"]), "configmap")


def test_the_statefulset_probes_hazwatchs_own_health_on_the_port_it_serves_metrics_on() -> None:
    statefulset = _manifests()["StatefulSet/hazwatch-core"]
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    port = next(int(a.split("=")[1]) for a in args if a.startswith("--metrics-port="))
    assert container["ports"][0]["containerPort"] == port
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "--metrics-address=0.0.0.0" in args, "the kubelet probes the pod's address, not its loopback"
    env = {e["name"]: e for e in container["env"]}
    assert int(env["PARTITIONS"]["value"]) == statefulset["spec"]["replicas"], "one pod per partition"
    assert "--partition=$(PARTITION_INDEX)/$(PARTITIONS)" in args
    run_help = _hazwatch_help("run")
    for option in ("--partition", "--role", "--state-dir", "--metrics-port", "--metrics-address"):
        assert option in run_help


def test_the_disruption_budget_covers_the_worker_pods_one_at_a_time() -> None:
    documents = _manifests()
    pod_labels = documents["StatefulSet/hazwatch-core"]["spec"]["template"]["metadata"]["labels"]
    budget = documents["PodDisruptionBudget/hazwatch-core"]["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["selector"]["matchLabels"].items() <= pod_labels.items()


def test_the_systemd_template_runs_one_partition_per_instance_with_its_own_state() -> None:
    unit = (DEPLOY / "hazwatch-worker@.service").read_text(encoding="utf-8").replace("\\\n", " ")
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.MULTILINE).group(1)
    assert "--partition %I" in exec_start  # hazwatch-worker@0-3 -> 0/3 (systemd unescapes - to /)
    assert "--state-dir /var/lib/hazwatch/worker-%i" in exec_start
    assert re.search(r"^Restart=always$", unit, re.MULTILINE)
