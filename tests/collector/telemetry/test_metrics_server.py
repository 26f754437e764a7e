"""hazwatch's own counters are scraped over HTTP in Prometheus' text format."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from collector.app.localservices import free_port
from collector.telemetry import metrics
from collector.telemetry.metrics_server import serve_metrics


def _sample(text: str, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"{name}{labels} not exported")


def test_metrics_endpoint_exports_ingest_backlog_and_detector_timing():
    port = free_port()
    server = serve_metrics(port)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        metrics.READINGS_INGESTED.labels("metrics-test").inc(42)
        metrics.OUTBOX_PENDING.set(7)
        metrics.DETECTOR_SECONDS.observe(0.002)
        response = httpx.get(url)
        assert response.status_code == 200
        assert _sample(response.text, "hazwatch_readings_ingested_total", {"source": "metrics-test"}) == 42
        assert _sample(response.text, "hazwatch_outbox_pending", {}) == 7
        assert _sample(response.text, "hazwatch_detector_seconds_count", {}) >= 1
    finally:
        server.shutdown()
        server.server_close()
