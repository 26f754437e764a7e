"""The running service: sources (Modbus, MQTT, recordings), the pipeline, storage, notification, the operator's
alarm API, views, evaluation, and the composition root (`app/`: CLI, runtime wiring, demo)."""
