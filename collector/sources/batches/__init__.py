"""Batch source: a core detector worker reads the columnar reading batches edge workers publish to MQTT."""
