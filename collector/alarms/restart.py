"""How long the first readings after a restart must run before a restored condition counts as gone.

A threshold alarm's window is the longest on-delay of the sensor's limits on that side: a reading
still over a limit raises (and so confirms the restored alarm) within that time, so a clear is never
declared while the condition holds. An offline alarm is disproved by any reading that is not offline.
detectors/alarms/restart.py applies these windows; docs/reliability.md explains the guarantee.
"""

from __future__ import annotations

import numpy as np

from detectors.alarms.restart import WindowRule
from detectors.rules.health import OFFLINE
from detectors.rules.threshold import HIGH, LOW
from hazwatch.config import SensorRegistry


def restart_windows(registry: SensorRegistry) -> dict[str, WindowRule]:
    def longest_on_delay(side: str) -> np.ndarray:
        return np.array(
            [max((lv.on_delay for lv in getattr(s.limits, side)), default=0.0) * 1e9 for s in registry], dtype=np.int64
        )

    return {
        HIGH: (longest_on_delay("high"), True),
        LOW: (longest_on_delay("low"), True),
        OFFLINE: (np.zeros(len(registry), dtype=np.int64), False),
    }
