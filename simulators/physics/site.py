"""A simulated site: physics + instruments + faults, rendered at once or sampled as a SiteModel.

`render(duration_s)` gives the whole timeline as columns (for export, replay and scenario
checks); `sample(t_s)` serves the same numbers to the Modbus and MQTT servers, so what a
scenario file predicts is exactly what goes over the wire.

A site whose events are all over by `settled_s` (the presets) is served an hour at a time after
that, so a simulator left running for days keeps constant memory and never re-renders its past.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from hazwatch.config.kinds import SiteType
from hazwatch.config.schema import HazwatchConfig, Site
from hazwatch.quality import Quality
from simulators.physics.events import PHYSICS_EVENTS, ScenarioEvent
from simulators.physics.layout import SiteLayout
from simulators.physics.mine import MinePhysics
from simulators.physics.plant import PlantPhysics
from simulators.physics.sensors import Readings, apply_reading_faults, apply_value_faults, finish, measure

DEFAULT_START = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
SERVE_WINDOW_S = 3600.0
"""What `sample` renders at a time once the site has settled (and at least what it renders first)."""
WARM_UP_S = 1800.0
"""Rendered before each later window and dropped: the slowest lag (the shearer's 600-s emission build, the
transport to the main return) has settled by then, so a window joins its predecessor without a visible step."""


@dataclass
class Rendering:
    """A site's readings for a whole timeline, plus the truth they came from."""

    site: str
    sensors: list[str]
    areas: list[str]
    kinds: list[str]
    start_ns: int
    step_s: float
    truth: np.ndarray
    readings: Readings

    @property
    def time_s(self) -> np.ndarray:
        return self.readings.time_s

    @property
    def time_ns(self) -> np.ndarray:
        return self.start_ns + np.round(self.readings.time_s * 1e9).astype(np.int64)

    def column(self, sensor: str) -> int:
        return self.sensors.index(sensor)

    def delivered_order(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every delivered reading, in the order the collector receives them.

        Time-major, then sensor order; back-filled readings come after everything that arrived
        before them, as they do when a substation's buffer is flushed.
        """
        r = self.readings
        arrival = r.arrival_s.ravel()
        flat = np.flatnonzero(~np.isnan(arrival))
        order = flat[np.argsort(arrival[flat], kind="stable")]
        return np.divmod(order, len(self.sensors))

    def long_table(self) -> pa.Table:
        """Columns time, site, area, sensor, kind, value, quality — one row per delivered reading."""
        rows, cols = self.delivered_order()
        sensor_dict = pa.array(self.sensors)
        return pa.table(
            {
                "time": pa.array(self.time_ns[rows], type=pa.timestamp("ns", tz="UTC")),
                "site": pa.DictionaryArray.from_arrays(np.zeros(len(rows), dtype=np.int32), pa.array([self.site])),
                "area": pa.DictionaryArray.from_arrays(cols.astype(np.int32), pa.array(self.areas)),
                "sensor": pa.DictionaryArray.from_arrays(cols.astype(np.int32), sensor_dict),
                "kind": pa.DictionaryArray.from_arrays(cols.astype(np.int32), pa.array(self.kinds)),
                "value": pa.array(self.readings.values[rows, cols], type=pa.float64()),
                "quality": pa.array(self.readings.quality[rows, cols], type=pa.uint8()),
            }
        )


class SimulatedSite:
    """One site of a config with its scenario events; implements simulators.model.SiteModel."""

    def __init__(
        self,
        config: HazwatchConfig,
        events: list[ScenarioEvent] | tuple[ScenarioEvent, ...] = (),
        *,
        site: str | None = None,
        seed: int = 0,
        step_s: float = 1.0,
        start: datetime = DEFAULT_START,
        settled_s: float | None = None,
    ) -> None:
        self.layout = SiteLayout.from_config(config, site)
        self.events = sorted(events, key=lambda e: e.at)
        self.seed = seed
        self.step_s = step_s
        self.start_ns = int(start.timestamp() * 1e9)
        self.settled_s = settled_s
        """Simulated time by which every event is over; None: the whole timeline is rendered from 0 when served."""
        self.sensors = self.layout.ids
        if self.layout.type is SiteType.COAL_MINE:
            self.physics: MinePhysics | PlantPhysics = MinePhysics(self.layout)
        else:
            self.physics = PlantPhysics(self.layout, seed=seed)
        self._served: Rendering | None = None

    @classmethod
    def of_site(
        cls,
        site: Site,
        events: list[ScenarioEvent] | tuple[ScenarioEvent, ...] = (),
        *,
        seed: int = 0,
        settled_s: float | None = None,
    ) -> SimulatedSite:
        """The simulated site of one site config, without the rest of a deployment's config."""
        return cls(HazwatchConfig(sites=[site]), events, seed=seed, settled_s=settled_s)

    def render(self, duration_s: float) -> Rendering:
        return self._render(np.arange(0.0, duration_s + self.step_s / 2, self.step_s), self.seed)

    def _render(self, t: np.ndarray, noise_seed: int) -> Rendering:
        lay = self.layout
        physics_events = [e for e in self.events if isinstance(e, PHYSICS_EVENTS)]
        faults = [e for e in self.events if not isinstance(e, PHYSICS_EVENTS)]
        truth = self.physics.render(t, physics_events)
        response, noise = measure(lay, t, truth, noise_seed)
        values = finish(lay, apply_value_faults(lay, t, response, noise, faults))
        readings = Readings(
            time_s=t,
            values=values,
            quality=np.full(values.shape, Quality.GOOD, dtype=np.uint8),
            pseudo=np.zeros(values.shape, dtype=bool),
            arrival_s=np.repeat(t[:, None], len(self.sensors), axis=1),
            backfilled=np.zeros(values.shape, dtype=bool),
        )
        apply_reading_faults(lay, readings, faults, self.seed)
        readings.values = finish(lay, readings.values)
        return Rendering(
            site=lay.site.id,
            sensors=self.sensors,
            areas=[s.area for s in lay.sensors],
            kinds=[s.kind.value for s in lay.sensors],
            start_ns=self.start_ns,
            step_s=self.step_s,
            truth=truth,
            readings=readings,
        )

    def sample(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """The readings at simulated time t_s; a device whose link is down answers OFFLINE (no value)."""
        served = self._served
        if served is None or t_s > served.time_s[-1] or (served.time_s[0] > 0 and t_s < served.time_s[0]):
            served = self._served = self._serve(t_s)
        row = min(max(int((t_s - served.time_s[0]) // self.step_s), 0), len(served.time_s) - 1)
        r = served.readings
        values = r.values[row].copy()
        quality = r.quality[row].copy()
        late = ~(r.arrival_s[row] <= r.time_s[row])
        values[late] = np.nan
        quality[late] = Quality.OFFLINE
        return values, quality

    def _serve(self, t_s: float) -> Rendering:
        """The rendering that holds t_s: from 0 while events may still act, else the window of the hour of t_s."""
        window = int(t_s // SERVE_WINDOW_S)
        start_s = window * SERVE_WINDOW_S
        if self.settled_s is None or window == 0 or start_s - WARM_UP_S < self.settled_s:
            return self.render(max(SERVE_WINDOW_S, 2.0 * t_s))
        t = np.arange(start_s - WARM_UP_S, start_s + SERVE_WINDOW_S + self.step_s / 2, self.step_s)
        noise_seed = int(np.random.SeedSequence([self.seed, window]).generate_state(1)[0])
        rendering = self._render(t, noise_seed)
        keep = slice(round(WARM_UP_S / self.step_s), None)
        r = rendering.readings
        rendering.truth = rendering.truth[keep]
        rendering.readings = Readings(
            r.time_s[keep], r.values[keep], r.quality[keep], r.pseudo[keep], r.arrival_s[keep], r.backfilled[keep]
        )
        return rendering
