"""Site-config model of a Sparkplug B edge node: which of its metrics are which sensors.

Sparkplug (Eclipse Sparkplug 3.0) fixes the topics (`spBv1.0/{group}/{type}/{edge node}[/{device}]`)
and announces every metric by name in the births, so the config only names the edge node and maps
metric names to sensors; aliases, datatypes and sequence numbers are learned from the wire.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from hazwatch.config.limits import StrictModel

TopicLevel = Annotated[str, Field(pattern=r"^[^/+#]+$", max_length=128)]
"""A Sparkplug id occupies one MQTT topic level: no `/`, `+` or `#`."""


class SparkplugMetric(StrictModel):
    sensor: str = Field(description="a sensor id of the site (checked by the loader)")
    device: TopicLevel | None = Field(default=None, description="the Sparkplug device id; unset: a node metric")
    metric: str = Field(min_length=1, description="the metric name as its birth announces it, e.g. Inputs/Temp")


class SparkplugNode(StrictModel):
    group_id: TopicLevel
    edge_node_id: TopicLevel
    primary_host: TopicLevel | None = Field(
        default=None, description="host id whose STATE offline means this node's data stops"
    )
    rebirth_interval: float = Field(
        default=5.0, gt=0, description="seconds between rebirth requests (NCMD Node Control/Rebirth) to this node"
    )
    metrics: list[SparkplugMetric] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_sensor_per_metric(self) -> Self:
        seen: dict[tuple[str | None, str], str] = {}
        sensors: set[str] = set()
        for m in self.metrics:
            key = (m.device, m.metric)
            if key in seen:
                raise ValueError(f"metric {m.metric!r} of device {m.device!r} is mapped twice: {seen[key]}, {m.sensor}")
            if m.sensor in sensors:
                raise ValueError(f"sensor {m.sensor} is mapped to two metrics")
            seen[key] = m.sensor
            sensors.add(m.sensor)
        return self
