"""Replay recorded or exported readings through the detector stack, deterministic and faster than real time."""
