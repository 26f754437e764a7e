"""What a reading must satisfy before hazwatch takes it as a sensor's reading: its timestamp near now.

A device's own timestamp is trusted only inside a window around the collector's clock. One reading
stamped far in the future would otherwise become the sensor's newest reading: every true reading after
it looks late, so no threshold alarm, no offline alarm, and InfluxDB's `last(value)` shows it for years.
"""

from __future__ import annotations

from pydantic import Field

from hazwatch.config.limits import StrictModel

WEEK_S = 7 * 24 * 3600.0


class IntakeSettings(StrictModel):
    max_future_s: float = Field(
        default=30.0,
        gt=0,
        description="readings stamped further ahead of the collector's clock are refused (reason future_time)",
    )
    max_past_s: float = Field(
        default=WEEK_S,
        gt=0,
        description="readings stamped further back are refused (reason past_time); a week covers the MQTT "
        "session's queued messages and back-filled device logs",
    )
    refused_alarm_after: int = Field(
        default=3,
        ge=1,
        description="refused readings of one sensor with no accepted one between before health.clock (for their "
        "time) or health.bad_value (for their value) is raised; as many accepted ones clear it",
    )
