"""Where readings and alarm events go after detection: InfluxDB, or a line-protocol file without one."""
