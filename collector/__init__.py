"""The collector: site config, sources (Modbus, MQTT), the pipeline runner, sinks and the CLI."""
