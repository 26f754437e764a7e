"""Alarm notification: signed webhooks through a durable outbox, MQTT alarm state, and the alarm log."""
