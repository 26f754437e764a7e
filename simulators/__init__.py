"""Simulated mines and plants that speak the real protocols (Modbus, MQTT), plus scenarios and replay.

Simulators may read the site config model, but talk to the collector only over the wire.
"""
