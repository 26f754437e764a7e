"""hazwatch's own health counters, exported for Prometheus and read by the status view and tests.

Every component counts into these instead of keeping private counters, so one `/metrics`
scrape (and one dashboard) shows the whole system's health.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

READINGS_INGESTED = Counter("hazwatch_readings_ingested", "Readings accepted from sources", ["source"])
PAYLOADS_REJECTED = Counter(
    "hazwatch_payloads_rejected",
    "Malformed or unmapped MQTT payloads, counted and dropped",
    ["source", "reason"],
)
READINGS_REFUSED = Counter(
    "hazwatch_readings_refused",
    "Readings refused before detection and storage: stamped outside the time window, or a GOOD non-number",
    ["reason"],
)
BATCH_READINGS_PUBLISHED = Counter("hazwatch_batch_readings_published", "Readings an edge worker published to MQTT")
BATCH_READINGS_DROPPED = Counter(
    "hazwatch_batch_readings_dropped", "Readings an edge worker could not queue for MQTT (queue full)"
)
MQTT_CONNECTED = Gauge("hazwatch_mqtt_connected", "1 while the MQTT source is connected and subscribed", ["source"])
MODBUS_REQUESTS = Counter("hazwatch_modbus_requests", "Modbus read requests", ["site", "device", "outcome"])
MODBUS_REQUEST_SPLITS = Counter(
    "hazwatch_modbus_request_splits", "Merged Modbus requests a device refused and that were split", ["site", "device"]
)
SPARKPLUG_SEQ_GAPS = Counter(
    "hazwatch_sparkplug_seq_gaps", "Sparkplug B messages whose seq did not follow the previous one", ["site", "device"]
)
SPARKPLUG_REBIRTHS = Counter(
    "hazwatch_sparkplug_rebirth_requests", "NCMD Node Control/Rebirth requests sent to edge nodes", ["site", "device"]
)
DEVICE_ONLINE = Gauge(
    "hazwatch_device_online", "1 when the device's last poll was answered, with data for at least one request",
    ["site", "device"],
)
INFLUX_POINTS_WRITTEN = Counter("hazwatch_influx_points_written", "Points accepted by InfluxDB")
INFLUX_WRITE_ERRORS = Counter("hazwatch_influx_write_errors", "Failed InfluxDB write requests")
INFLUX_QUEUE_POINTS = Gauge("hazwatch_influx_queue_points", "Points waiting in memory for InfluxDB")
INFLUX_SPOOL_POINTS = Gauge(
    "hazwatch_influx_spool_points", "Points spooled on disk while InfluxDB is unreachable"
)
INFLUX_POINTS_REJECTED = Counter(
    "hazwatch_influx_points_rejected", "Points InfluxDB refused as bad data (logged and dropped)"
)
WEBHOOK_DELIVERIES = Counter(
    "hazwatch_webhook_deliveries", "Webhook delivery attempts", ["subscriber", "outcome"]
)
OUTBOX_PENDING = Gauge("hazwatch_outbox_pending", "Webhook deliveries waiting in the durable outbox")
ALARM_EVENTS = Counter("hazwatch_alarm_events", "Alarm transitions", ["category", "transition"])
DETECTOR_SECONDS = Histogram(
    "hazwatch_detector_seconds",
    "Time the detector stack takes per batch",
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5),
)
DETECTOR_LAG_SECONDS = Gauge(
    "hazwatch_detector_lag_seconds", "Wall clock minus the newest reading's timestamp"
)
DETECTOR_ROWS_SKIPPED = Counter(
    "hazwatch_detector_rows_skipped",
    "Readings kept out of detection (still stored): unknown slot, or older than the sensor's newest (late)",
    ["reason"],
)
WAL_DISK_ERROR = Gauge(
    "hazwatch_wal_disk_error", "1 while the write-ahead log cannot be written (disk full): readings are not durable"
)
WAL_POINTS_DROPPED = Counter(
    "hazwatch_wal_points_dropped", "Readings dropped by the write-ahead log's size bound (never alarm lines)"
)
SYSTEM_ALARM = Gauge("hazwatch_system_alarm", "1 while a system alarm (hazwatch's own fault) stands", ["rule"])
