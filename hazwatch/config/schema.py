"""The site config file's schema, validated with pydantic so every problem carries its field path."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from hazwatch.config.console import ConsoleSettings
from hazwatch.config.detection import DetectionSettings, SensorGroup
from hazwatch.config.intake import IntakeSettings
from hazwatch.config.kinds import AreaKind, Location, SensorKind, SiteType
from hazwatch.config.limits import Limits, StrictModel
from hazwatch.config.notify import WebhookSettings
from hazwatch.config.sparkplug import SparkplugNode

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=64)]
ByteOrder = Literal["big", "little"]

BIT_TABLES: frozenset[str] = frozenset({"coil", "discrete"})
REGISTER_WORDS: dict[str, int] = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "int64": 4,
    "uint64": 4,
    "float64": 4,
    "bool": 1,
}
"""16-bit words each register type occupies: shared by the config checks, the poller and the simulator."""

_SEGMENT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Sensor(StrictModel):
    id: Identifier
    name: str = ""
    kind: SensorKind
    unit: str | None = Field(default=None, description="defaults by kind (DOMAIN.md units)")
    range: tuple[float, float] | None = Field(default=None, description="physical range [min, max]")
    location: Location | None = Field(default=None, description="T0..T4, shearer: picks methane limits")
    critical: bool | None = Field(
        default=None, description="shown on the site overview; gas sensors by default"
    )
    limits: Limits | None = Field(
        default=None, description="replaces the default limits of the kind and location"
    )
    detect: DetectionSettings = Field(default_factory=DetectionSettings)

    @model_validator(mode="after")
    def _range_ordered(self) -> Self:
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range minimum {self.range[0]} must be below its maximum {self.range[1]}")
        return self


class Area(StrictModel):
    id: Identifier
    name: str = ""
    kind: AreaKind
    sensors: list[Sensor] = Field(default_factory=list)
    airflow_paths: list[list[Identifier]] = Field(
        default_factory=list,
        description="groups of sensors of one kind on one airflow path, expected to agree (tampering check)",
    )


class ModbusRegister(StrictModel):
    sensor: Identifier
    unit_id: int | None = Field(default=None, ge=0, le=255, description="defaults to the device's unit_id")
    table: Literal["holding", "input", "coil", "discrete"] = "holding"
    address: int = Field(ge=0, le=65535, description="zero-based protocol address")
    type: Literal["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "bool"] = (
        "uint16"
    )
    bit: int | None = Field(default=None, ge=0, le=15, description="read one bit of a 16-bit register")
    byte_order: ByteOrder | None = None
    word_order: ByteOrder | None = None
    scale: float = 1.0
    offset: float = 0.0
    invalid: list[int] = Field(
        default_factory=list, description="raw values the device sends for 'no valid reading'"
    )

    @model_validator(mode="after")
    def _type_fits_table(self) -> Self:
        is_bit_table = self.table in ("coil", "discrete")
        if is_bit_table and self.type != "bool":
            raise ValueError(f"a {self.table} holds single bits: type must be bool, not {self.type}")
        if not is_bit_table and self.type == "bool" and self.bit is None:
            raise ValueError("a bool from a register needs `bit`")
        if self.bit is not None and self.type not in ("bool", "uint16", "int16"):
            raise ValueError(f"`bit` reads one bit of a 16-bit register, not of a {self.type}")
        return self


class SerialLine(StrictModel):
    port: str
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8


class Backoff(StrictModel):
    initial: float = Field(default=0.5, gt=0)
    maximum: float = Field(default=30.0, gt=0)


class ModbusDevice(StrictModel):
    id: Identifier
    protocol: Literal["modbus"]
    name: str = ""
    area: Identifier | None = Field(default=None, description="the area its dead-man alarm belongs to")
    transport: Literal["tcp", "rtu_over_tcp", "serial"] = "tcp"
    host: str | None = None
    port: int = Field(default=502, ge=1, le=65535)
    serial: SerialLine | None = None
    unit_id: int = Field(default=1, ge=0, le=255, description="255: a device addressed directly over TCP")
    poll_interval: float = Field(default=5.0, gt=0, le=3600)
    timeout: float = Field(default=1.0, gt=0)
    retries: int = Field(default=1, ge=0, le=10)
    max_gap: int = Field(
        default=8, ge=0, le=120, description="unused registers read through to merge requests"
    )
    errors_before_reconnect: int = Field(default=3, ge=1)
    backoff: Backoff = Field(default_factory=Backoff)
    max_registers_per_request: int = Field(default=125, ge=1, le=125, description="the device's read cap (FC 3/4)")
    max_bits_per_request: int = Field(default=2000, ge=1, le=2000, description="the device's read cap (FC 1/2)")
    connect_delay: float = Field(default=0.0, ge=0, le=60, description="quirk: seconds to wait after connecting")
    request_delay: float = Field(default=0.0, ge=0, le=60, description="quirk: seconds to wait between requests")
    request_per_register: bool = Field(default=False, description="quirk: never merge registers into one request")
    close_after_poll: bool = Field(default=False, description="quirk: close the connection after every poll")
    byte_order: ByteOrder = "big"
    word_order: ByteOrder = "big"
    registers: list[ModbusRegister] = Field(min_length=1)

    @model_validator(mode="after")
    def _endpoint(self) -> Self:
        if self.transport == "serial" and self.serial is None:
            raise ValueError("transport serial needs a `serial` block (port, baudrate, ...)")
        if self.transport != "serial" and not self.host:
            raise ValueError(f"transport {self.transport} needs `host`")
        return self


MANY_SENSOR_PAYLOADS = frozenset({"gateway", "influx", "thingsboard"})
"""Payload forms whose messages name their sensors themselves (the topic needs no {sensor})."""


class MqttTopic(StrictModel):
    pattern: str = Field(description="MQTT topic with named segments, e.g. plant/{area}/{sensor}/value")
    payload: Literal["json", "number", "gateway", "influx", "thingsboard"] = "json"
    sensor: Identifier | None = Field(default=None, description="the sensor when the pattern names none")
    value_path: str = "value"
    time_path: str | None = "ts"
    quality_path: str | None = "quality"
    items_path: str = Field(
        default="points", description="gateway: the list (or map of id → item) of readings"
    )
    id_path: str = Field(default="id", description="gateway: the sensor id inside an item")
    value_strings: bool = Field(
        default=False, description='read decimal number text ("12.5") as a value; off: text values are refused'
    )
    id_tag: str | None = Field(
        default=None, description="influx: the tag naming the sensor (value in field value_path); unset: field keys"
    )
    id_from: Literal["key", "device"] = Field(
        default="key", description="thingsboard: sensors are the keys of `values`, or the device names"
    )

    @property
    def segments(self) -> list[str]:
        return _SEGMENT.findall(self.pattern)

    @model_validator(mode="after")
    def _names_a_sensor(self) -> Self:
        if "#" in self.pattern or "+" in self.pattern:
            raise ValueError("use named segments like {sensor} instead of MQTT wildcards")
        if self.payload not in MANY_SENSOR_PAYLOADS and self.sensor is None and "sensor" not in self.segments:
            raise ValueError("a json or number topic needs a {sensor} segment or a fixed `sensor`")
        return self


class MqttDevice(StrictModel):
    id: Identifier
    protocol: Literal["mqtt"]
    name: str = ""
    area: Identifier | None = None
    qos: Literal[0, 1, 2] = 1
    expected_interval: float = Field(
        default=10.0, gt=0, description="seconds between readings; drives offline"
    )
    sensors: list[Identifier] = Field(
        default_factory=list,
        description="sensors this device publishes through its {sensor} or gateway topics",
    )
    topics: list[MqttTopic] = Field(default_factory=list)
    sparkplug: SparkplugNode | None = Field(default=None, description="a Sparkplug B edge node: its metric map")

    @model_validator(mode="after")
    def _has_topics(self) -> Self:
        if not self.topics and self.sparkplug is None:
            raise ValueError("an MQTT device needs `topics` or a `sparkplug` block")
        return self

    @property
    def sparkplug_sensors(self) -> list[str]:
        """Sensors its Sparkplug metrics feed that `sensors` does not already list."""
        listed = set(self.sensors)
        metrics = self.sparkplug.metrics if self.sparkplug else []
        return [m.sensor for m in metrics if m.sensor not in listed]


Device = Annotated[ModbusDevice | MqttDevice, Field(discriminator="protocol")]


class Site(StrictModel):
    id: Identifier
    name: str = ""
    type: SiteType
    timezone: str = "UTC"
    areas: list[Area] = Field(min_length=1)
    devices: list[Device] = Field(default_factory=list)
    groups: list[SensorGroup] = Field(default_factory=list, description="multi-sensor rules")


class InfluxSettings(StrictModel):
    url: str = "http://127.0.0.1:8086"
    api: Literal["v1", "v2"] = "v1"
    database: str = "hazwatch"
    retention_policy: str | None = None
    username_env: str | None = "HAZWATCH_INFLUX_USER"
    password_env: str | None = "HAZWATCH_INFLUX_PASSWORD"
    token_env: str = "HAZWATCH_INFLUX_TOKEN"
    password_file: str | None = Field(default=None, description="the password's file (the variable wins)")
    token_file: str | None = Field(default=None, description="the token's file (the variable wins)")
    ca_file: str | None = Field(default=None, description="CA bundle that signed the server's HTTPS certificate")
    org: str = "hazwatch"
    bucket: str = "hazwatch"
    batch_size: int = Field(default=5000, ge=100, le=100_000)
    flush_interval: float = Field(default=1.0, gt=0)
    queue_max_points: int = Field(
        default=500_000, ge=1000, description="points the write-ahead log also caches in memory"
    )
    spool_dir: str = Field(default="./hazwatch-spool", description="write-ahead log folder (docs/reliability.md)")
    wal_fsync: Literal["always", "never"] = Field(
        default="always",
        description="always: fsync each group commit before acknowledging (survives a power cut); "
        "never: leave flushing to the OS (survives a crash of hazwatch, not of the machine)",
    )
    wal_commit_interval: float = Field(
        default=0.05, gt=0, le=5, description="seconds between retries of a write-ahead log the disk refused"
    )
    wal_max_bytes: int = Field(
        default=2 * 1024**3, ge=1024**2, description="disk bound of the write-ahead log; beyond it the oldest "
        "readings are dropped (alarm lines kept) and counted"
    )
    raw_retention: str = Field(
        default="730d", description="how long raw readings are kept (InfluxQL duration; INF keeps them forever)"
    )
    stats_retention_policy: str = Field(default="stats", description="retention policy of the 5-minute statistics")
    stats_retention: str = Field(default="INF", description="how long the 5-minute statistics are kept")


class MqttSettings(StrictModel):
    url: str = "mqtt://127.0.0.1:1883"
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: str = "hazwatch-collector"
    username_env: str | None = "HAZWATCH_MQTT_USER"
    password_env: str | None = "HAZWATCH_MQTT_PASSWORD"
    password_file: str | None = Field(default=None, description="the password's file (the variable wins)")
    ca_file: str | None = Field(default=None, description="CA bundle that signed the broker's certificate (mqtts://)")
    cert_file: str | None = Field(default=None, description="client certificate, for brokers that require one")
    key_file: str | None = Field(default=None, description="the client certificate's private key")
    alarm_topic_prefix: str = "hazwatch/alarms"
    batch_topic_prefix: str = Field(
        default="hazwatch/batches", description="where edge workers publish reading batches (hazwatch/batchwire.py)"
    )


class PartitionSettings(StrictModel):
    by: Literal["site", "area", "device"] = Field(
        default="site",
        description="the unit `hazwatch run --partition K/N` never splits (hazwatch/config/partition.py)",
    )
    takeover_replay_s: float = Field(
        default=900.0,
        ge=0,
        description="stored history a partition worker with no snapshot for its partition replays into its "
        "detectors before it subscribes (0: none); reading it delays that worker's start (docs/scaling.md)",
    )


class HazwatchConfig(StrictModel):
    sites: list[Site] = Field(min_length=1)
    influxdb: InfluxSettings = Field(default_factory=InfluxSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    intake: IntakeSettings = Field(default_factory=IntakeSettings)
    state_dir: str = Field(default="./hazwatch-state", description="alarm state, outbox and audit trail")
    partitioning: PartitionSettings = Field(default_factory=PartitionSettings)
