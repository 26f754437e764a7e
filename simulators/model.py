"""The contract between a simulated site's physics and the servers that publish it."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class SiteModel(Protocol):
    sensors: list[str]
    """Sensor ids of one site, in the order of the arrays `sample` returns."""

    def sample(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Values (float64, engineering units) and quality codes (uint8) of every sensor at simulated time t_s.

        Calls come with non-decreasing t_s; a model may keep state between calls.
        """
