"""Quality codes carried by every reading.

They mirror the point states of China's mine monitoring systems (DOMAIN.md): a reading that
is not GOOD is kept and flagged, never silently dropped and never treated as real atmosphere.
"""

from enum import IntEnum


class Quality(IntEnum):
    GOOD = 0
    OFFLINE = 1
    """Link to the sensor or its device lost: a gap, never a zero."""
    FAULT = 2
    """Sensor self-diagnostic, device 'invalid value' sentinel, or out of physical range."""
    CALIBRATION = 3
    """Test gas applied: recorded, never an over-limit."""
    PSEUDO = 4
    """Not real atmosphere (interference, tampering suspicion, back-filled estimate): kept and flagged."""


QUALITY_NAMES: dict[int, str] = {q.value: q.name.lower() for q in Quality}
