"""The Modbus source: polls each configured device on its own asyncio task and emits ReadingBatches.

A device that stops answering must not delay the others, and its sensors must turn OFFLINE
(NaN, never a stale or zero value) on the very next poll, so each device runs its own loop and
every failed poll still emits a batch. Devices on one serial line share one port and one lock,
so their requests never interleave on the wire.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import numpy as np
from pymodbus.client.base import ModbusBaseClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.pdu import ModbusPDU

from collector.pipeline.protocols import Emit
from collector.sources.modbus.decode import decode_response
from collector.sources.modbus.link import ModbusLink
from collector.sources.modbus.plan import ReadRequest, plan_requests, split_request
from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from hazwatch.batch import ReadingBatch
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import HazwatchConfig, ModbusDevice
from hazwatch.quality import Quality

log = logging.getLogger("hazwatch.modbus")

GATEWAY_EXCEPTIONS = frozenset({0x0A, 0x0B})
"""'Gateway path unavailable' and 'target failed to respond': the sensor is unreachable, not faulty."""
SPLIT_EXCEPTIONS = frozenset({0x02, 0x03})
"""'Illegal data address' (a hole in the map) and 'illegal data value' (more than the device reads at once):
a merged request answered so is split and its parts retried."""

_READERS: dict[str, Callable[[ModbusBaseClient], Callable]] = {
    "holding": lambda c: c.read_holding_registers,
    "input": lambda c: c.read_input_registers,
    "coil": lambda c: c.read_coils,
    "discrete": lambda c: c.read_discrete_inputs,
}


class ModbusSource:
    """Polls one Modbus device (all its unit ids and tables) every `poll_interval` seconds."""

    def __init__(self, site: str, device: ModbusDevice, requests: list[ReadRequest], link: ModbusLink) -> None:
        self.site = site
        self.device = device
        self.requests = requests
        self.link = link
        self.name = f"modbus:{site}/{device.id}"
        self.slots = np.concatenate([r.slots for r in requests]) if requests else np.empty(0, np.int32)
        self._warn = RateLimitedLog(log)
        self._last_answer = 0.0

    async def run(self, emit: Emit) -> None:
        next_poll = time.monotonic()
        try:
            while True:
                batch = await self.poll_once()
                if asyncio.current_task().cancelling():
                    # pymodbus waits with asyncio.wait_for, which on Python 3.11 can swallow our cancellation:
                    # the task is still marked as being cancelled, so stop here rather than poll on forever.
                    raise asyncio.CancelledError
                emit(batch)
                metrics.READINGS_INGESTED.labels("modbus").inc(len(batch))
                next_poll = max(next_poll + self.device.poll_interval, time.monotonic())
                await asyncio.sleep(next_poll - time.monotonic())
        finally:
            self.link.drop()

    async def poll_once(self) -> ReadingBatch:
        """One poll of every request; sensors of requests that failed come back OFFLINE or FAULT."""
        async with self.link.lock:
            client = await self.link.connected_client()
            if client is None:
                self._count("connect_failed")
                self._error(
                    "connect",
                    self.device.unit_id,
                    "cannot connect to %s (retry in %.1f s)",
                    self.link.endpoint,
                    self.link.backoff_remaining,
                )
                metrics.DEVICE_ONLINE.labels(self.site, self.device.id).set(0)
                return self._offline(self.requests)
            try:
                return await self._poll_requests(client)
            finally:
                if self.device.close_after_poll:
                    self.link.drop()

    async def _poll_requests(self, client: ModbusBaseClient) -> ReadingBatch:
        parts: list[ReadingBatch] = []
        silent_units: set[int] = set()
        all_answered = True
        useful = False
        plan: list[ReadRequest] = []
        for index, request in enumerate(self.requests):
            plan.append(request)
            if request.unit_id in silent_units:
                parts.append(self._offline([request]))
                continue
            try:
                answers = await self._read_splitting(client, request)
            except ConnectionException as exc:
                self._count("disconnected")
                self._error("disconnected", request.unit_id, "connection lost: %s", exc)
                self.link.drop()
                parts.append(self._offline(self.requests[index:]))
                plan.extend(self.requests[index + 1 :])
                all_answered = False
                break
            except (ModbusException, TimeoutError, OSError) as exc:
                self._count("no_response")
                self._error(
                    "no_response",
                    request.unit_id,
                    "no response to %s %d+%d after %d retries: %s",
                    request.table,
                    request.address,
                    request.count,
                    self.device.retries,
                    exc,
                )
                silent_units.add(request.unit_id)
                all_answered = False
                parts.append(self._offline([request]))
                if self.link.record_error():
                    parts.append(self._offline(self.requests[index + 1 :]))
                    plan.extend(self.requests[index + 1 :])
                    break
                continue
            self.link.record_success()
            if len(answers) > 1:
                plan[-1:] = [part for part, _ in answers]
                self._learned(request, [part for part, _ in answers])
            for part, response in answers:
                useful |= not response.isError()
                parts.append(self._decode(part, response))
        self.requests = plan
        metrics.DEVICE_ONLINE.labels(self.site, self.device.id).set(1 if all_answered and useful else 0)
        return ReadingBatch.concat(parts)

    async def _read_splitting(
        self, client: ModbusBaseClient, request: ReadRequest
    ) -> list[tuple[ReadRequest, ModbusPDU]]:
        """The request's answer, or, when the device refuses it as too long or reaching into a hole, the
        answers of its halves (recursively): the parts that still fail are single map entries."""
        response = await self._read(client, request)
        code = getattr(response, "exception_code", 0) if response.isError() else 0
        if code not in SPLIT_EXCEPTIONS or not request.splittable:
            return [(request, response)]
        first, second = split_request(request)
        return [*await self._read_splitting(client, first), *await self._read_splitting(client, second)]

    async def _read(self, client: ModbusBaseClient, request: ReadRequest) -> ModbusPDU:
        read = _READERS[request.table](client)
        device = self.device
        if device.request_delay:
            await asyncio.sleep(max(0.0, self._last_answer + device.request_delay - time.monotonic()))
        deadline = device.timeout * (device.retries + 2)
        try:
            async with asyncio.timeout(deadline):
                return await read(request.address, count=request.count, device_id=request.unit_id)
        finally:
            self._last_answer = time.monotonic()

    def _learned(self, request: ReadRequest, parts: list[ReadRequest]) -> None:
        """A split is kept for every later poll: the device's map and cap do not change between polls."""
        log.info(
            "modbus site=%s device=%s unit=%d: %s %d+%d refused, now read as %s",
            self.site,
            self.device.id,
            request.unit_id,
            request.table,
            request.address,
            request.count,
            ", ".join(f"{p.address}+{p.count}" for p in parts),
        )
        metrics.MODBUS_REQUEST_SPLITS.labels(self.site, self.device.id).inc()

    def _decode(self, request: ReadRequest, response: ModbusPDU) -> ReadingBatch:
        now = time.time_ns()
        if response.isError():
            code = getattr(response, "exception_code", 0)
            self._count("exception")
            self._error(
                f"exception{code}",
                request.unit_id,
                "exception response 0x%02X to %s %d+%d",
                code,
                request.table,
                request.address,
                request.count,
            )
            quality = Quality.OFFLINE if code in GATEWAY_EXCEPTIONS else Quality.FAULT
            return ReadingBatch.from_columns(request.slots, now, np.full(len(request.slots), np.nan), quality)
        data = response.bits if request.is_bits else response.registers
        if len(data) < request.count:
            self._count("short_response")
            self._error(
                "short",
                request.unit_id,
                "short response to %s %d+%d: %d values",
                request.table,
                request.address,
                request.count,
                len(data),
            )
            return ReadingBatch.from_columns(request.slots, now, np.full(len(request.slots), np.nan), Quality.FAULT)
        self._count("ok")
        values, quality = decode_response(request, data[: request.count])
        return ReadingBatch(request.slots, np.full(len(values), now, dtype=np.int64), values, quality)

    def _offline(self, requests: list[ReadRequest]) -> ReadingBatch:
        if not requests:
            return ReadingBatch.empty()
        slots = np.concatenate([r.slots for r in requests])
        return ReadingBatch.from_columns(slots, time.time_ns(), np.full(len(slots), np.nan), Quality.OFFLINE)

    def _count(self, outcome: str) -> None:
        metrics.MODBUS_REQUESTS.labels(self.site, self.device.id, outcome).inc()

    def _error(self, key: str, unit_id: int, message: str, *args: object) -> None:
        self._warn.error(
            f"{self.device.id}/{unit_id}/{key}",
            "modbus site=%s device=%s unit=%d " + message,
            self.site,
            self.device.id,
            unit_id,
            *args,
        )


def _quiet_pymodbus() -> None:
    """pymodbus logs every failed request with a frame dump, unthrottled; our rate-limited errors replace it.

    Left alone when someone set pymodbus's level on purpose (e.g. DEBUG to trace frames).
    """
    pymodbus_log = logging.getLogger("pymodbus")
    if pymodbus_log.level == logging.NOTSET:
        pymodbus_log.setLevel(logging.CRITICAL)


def modbus_sources(
    config: HazwatchConfig, registry: SensorRegistry, host_override: str | None = None
) -> list[ModbusSource]:
    """One source per Modbus device of every site; devices on one serial port share its link.

    `host_override` replaces the host of every TCP device (e.g. simulators on 127.0.0.1).
    """
    _quiet_pymodbus()
    sources: list[ModbusSource] = []
    serial_links: dict[str, ModbusLink] = {}
    for site in config.sites:
        slots = registry.slots_of_site(site.id)
        for device in site.devices:
            if not isinstance(device, ModbusDevice):
                continue
            if device.transport == "serial":
                assert device.serial is not None
                link = serial_links.setdefault(device.serial.port, ModbusLink(device))
            else:
                link = ModbusLink(device, host=host_override)
            sources.append(ModbusSource(site.id, device, plan_requests(device, slots), link))
    return sources
