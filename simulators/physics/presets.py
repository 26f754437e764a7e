"""The simulated sites the demo, the benchmarks and the protocol tests run on: a site config, no scenario file.

A preset is the scenario physics of this package with a fixed set of events, so the demo, the Modbus and MQTT
servers and the labelled scenarios all show one model of a mine and one of a plant (one CH4 baseline: the face
reads 0.35 % between surges, inside the 0.2–0.6 % of shared/DOMAIN.md §4, and air away from the coal 0.05 %).
"""

from __future__ import annotations

from hazwatch.config.schema import Site
from simulators.physics.events import CuttingSurge
from simulators.physics.site import SimulatedSite

METHANE_SURGE_MULTIPLIER = 3.6
"""Face emission during the scripted surge, times its cutting level: face CH4 peaks near 1.9 %."""
METHANE_SURGE_RAMP_S = 10.0
METHANE_SURGE_HOLD_S = 15.0
SETTLED_AFTER_EVENT_S = 1800.0
"""By then the surge has reached and left the main return (the slowest path, about 20 min)."""


def methane_surge(at_s: float) -> CuttingSurge:
    """The shearer cuts into a gas pocket: the face passes 1.0 % and 1.5 % within half a minute, then falls back."""
    return CuttingSurge(
        type="cutting_surge",
        at=at_s,
        multiplier=METHANE_SURGE_MULTIPLIER,
        ramp_s=METHANE_SURGE_RAMP_S,
        duration_s=METHANE_SURGE_HOLD_S,
    )


def mine_preset(site: Site, seed: int = 0, methane_event_at_s: float | None = None) -> SimulatedSite:
    """A coal mine in normal operation (shearer passes, fans running), with a face methane surge if asked."""
    if methane_event_at_s is None:
        return SimulatedSite.of_site(site, seed=seed, settled_s=0.0)
    event = methane_surge(methane_event_at_s)
    return SimulatedSite.of_site(site, [event], seed=seed, settled_s=methane_event_at_s + SETTLED_AFTER_EVENT_S)


def plant_preset(site: Site, seed: int = 0) -> SimulatedSite:
    """A chemical plant in normal operation: reactors at their set-points, tanks at ambient, clean air."""
    return SimulatedSite.of_site(site, seed=seed, settled_s=0.0)
