"""Sensor kinds, location types and the physical facts that come with each kind."""

from enum import StrEnum


class SensorKind(StrEnum):
    CH4 = "CH4"
    CO = "CO"
    O2 = "O2"
    CO2 = "CO2"
    H2S = "H2S"
    NH3 = "NH3"
    NO2 = "NO2"
    SO2 = "SO2"
    CL2 = "Cl2"
    LEL = "LEL"
    TEMPERATURE = "temperature"
    PRESSURE = "pressure"
    LEVEL = "level"
    FLOW = "flow"
    AIR_VELOCITY = "air_velocity"
    SMOKE = "smoke"
    FAN_STATE = "fan_state"
    FEED_STATE = "feed_state"
    DOOR = "door"
    GENERIC = "generic"
    """Any signal without physical assumptions (counts, rates, indices): no default range, limits or rules
    beyond health; its normal is learned (docs/detectors.md)."""


class SiteType(StrEnum):
    COAL_MINE = "coal_mine"
    CHEMICAL_PLANT = "chemical_plant"


class AreaKind(StrEnum):
    """Where an area sits in the ventilation network (mines) or the process (plants)."""

    LONGWALL = "longwall"
    HEADING = "heading"
    DISTRICT_RETURN = "district_return"
    MAIN_RETURN = "main_return"
    INTAKE = "intake"
    BELT_ROADWAY = "belt_roadway"
    BELT_RETURN = "belt_return"
    CHAMBER = "chamber"
    COAL_BUNKER = "coal_bunker"
    DRAINAGE_PUMP_ROOM = "drainage_pump_room"
    PROCESS_UNIT = "process_unit"
    TANK_FARM = "tank_farm"
    LOADING = "loading"
    UTILITY = "utility"


class Location(StrEnum):
    """Sensor position codes used in Chinese longwall and heading layouts (AQ 1029)."""

    T0 = "T0"
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    SHEARER = "shearer"
    LONG_RETURN_MIDDLE = "long_return_middle"


GAS_KINDS: frozenset[SensorKind] = frozenset(
    {
        SensorKind.CH4,
        SensorKind.CO,
        SensorKind.O2,
        SensorKind.CO2,
        SensorKind.H2S,
        SensorKind.NH3,
        SensorKind.NO2,
        SensorKind.SO2,
        SensorKind.CL2,
        SensorKind.LEL,
    }
)
TOXIC_KINDS: frozenset[SensorKind] = frozenset(
    {SensorKind.CO, SensorKind.H2S, SensorKind.NH3, SensorKind.NO2, SensorKind.SO2, SensorKind.CL2}
)
BINARY_KINDS: frozenset[SensorKind] = frozenset(
    {SensorKind.SMOKE, SensorKind.FAN_STATE, SensorKind.FEED_STATE, SensorKind.DOOR}
)

DEFAULT_UNIT: dict[SensorKind, str] = {
    SensorKind.CH4: "%",
    SensorKind.CO: "ppm",
    SensorKind.O2: "%",
    SensorKind.CO2: "%",
    SensorKind.H2S: "ppm",
    SensorKind.NH3: "ppm",
    SensorKind.NO2: "ppm",
    SensorKind.SO2: "ppm",
    SensorKind.CL2: "ppm",
    SensorKind.LEL: "%LEL",
    SensorKind.TEMPERATURE: "°C",
    SensorKind.PRESSURE: "kPa",
    SensorKind.LEVEL: "%",
    SensorKind.FLOW: "m³/h",
    SensorKind.AIR_VELOCITY: "m/s",
    SensorKind.SMOKE: "",
    SensorKind.FAN_STATE: "",
    SensorKind.FEED_STATE: "",
    SensorKind.DOOR: "",
    SensorKind.GENERIC: "",
}

DEFAULT_RANGE: dict[SensorKind, tuple[float, float]] = {
    SensorKind.CH4: (0.0, 4.0),
    SensorKind.CO: (0.0, 500.0),
    SensorKind.O2: (0.0, 25.0),
    SensorKind.CO2: (0.0, 5.0),
    SensorKind.H2S: (0.0, 100.0),
    SensorKind.NH3: (0.0, 200.0),
    SensorKind.NO2: (0.0, 20.0),
    SensorKind.SO2: (0.0, 20.0),
    SensorKind.CL2: (0.0, 10.0),
    SensorKind.LEL: (0.0, 100.0),
    SensorKind.LEVEL: (0.0, 100.0),
    SensorKind.AIR_VELOCITY: (0.0, 15.0),
    SensorKind.SMOKE: (0.0, 1.0),
    SensorKind.FAN_STATE: (0.0, 1.0),
    SensorKind.FEED_STATE: (0.0, 1.0),
    SensorKind.DOOR: (0.0, 1.0),
}
"""Kinds without an entry (temperature, pressure, flow) have no universal range: the config must give one.
A generic sensor may go without one (RANGE_OPTIONAL): its range then is (-inf, inf) and no rule derives a
threshold from it."""

RANGE_OPTIONAL: frozenset[SensorKind] = frozenset({SensorKind.GENERIC})
