"""Simulated mines and plants that speak the real protocols (Modbus, MQTT), scenarios with ground truth, export.

Simulators produce data only: they read the site-config model from the core and talk to the collector only over
the wire or through files.
"""
