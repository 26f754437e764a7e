"""One Modbus connection (a TCP socket or a serial port) and its reconnect policy.

pymodbus's own reconnect loop is switched off (reconnect_delay=0): the poller decides when to
reconnect, so that a device in backoff still reports its sensors OFFLINE on every poll instead
of going silent, and so that all devices on one serial line share one port, one lock and one
backoff.
"""

from __future__ import annotations

import asyncio
import time

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.client.base import ModbusBaseClient

from hazwatch.config.schema import ModbusDevice


class ModbusLink:
    """A lazily opened client, a lock serialising its users, and exponential backoff between connects."""

    def __init__(self, device: ModbusDevice, host: str | None = None) -> None:
        self.device = device
        self.host = host or device.host
        self.lock = asyncio.Lock()
        self.client: ModbusBaseClient | None = None
        self.connect_failures = 0
        self.consecutive_errors = 0
        self._retry_at = 0.0

    @property
    def endpoint(self) -> str:
        if self.device.transport == "serial":
            assert self.device.serial is not None
            return self.device.serial.port
        return f"{self.host}:{self.device.port}"

    def _new_client(self) -> ModbusBaseClient:
        device = self.device
        common = {
            "timeout": device.timeout,
            "retries": device.retries,
            "reconnect_delay": 0,
            "name": f"hazwatch:{device.id}",
        }
        if device.transport == "serial":
            assert device.serial is not None
            line = device.serial
            return AsyncModbusSerialClient(
                line.port,
                framer=FramerType.RTU,
                baudrate=line.baudrate,
                parity=line.parity,
                stopbits=line.stopbits,
                bytesize=line.bytesize,
                **common,
            )
        framer = FramerType.RTU if device.transport == "rtu_over_tcp" else FramerType.SOCKET
        assert self.host is not None
        return AsyncModbusTcpClient(self.host, port=device.port, framer=framer, **common)

    @property
    def backoff_remaining(self) -> float:
        return max(0.0, self._retry_at - time.monotonic())

    async def connected_client(self) -> ModbusBaseClient | None:
        """The open client, connecting if the backoff allows; None while the link is down."""
        if self.client is not None and self.client.connected:
            return self.client
        if self.backoff_remaining > 0:
            return None
        self.drop()
        client = self._new_client()
        if await client.connect():
            self.client = client
            self.connect_failures = 0
            if self.device.connect_delay:
                await asyncio.sleep(self.device.connect_delay)
            return client
        client.close()
        self.connect_failures += 1
        backoff = self.device.backoff
        delay = min(backoff.initial * 2 ** (self.connect_failures - 1), backoff.maximum)
        self._retry_at = time.monotonic() + delay
        return None

    def record_success(self) -> None:
        self.consecutive_errors = 0

    def record_error(self) -> bool:
        """Count a failed request; True when the link was dropped to force a fresh connection."""
        self.consecutive_errors += 1
        if self.consecutive_errors >= self.device.errors_before_reconnect:
            self.consecutive_errors = 0
            self.drop()
            return True
        return False

    def drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
