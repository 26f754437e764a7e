"""Free loopback ports for the local services and simulated devices that tests and the demo start."""

from __future__ import annotations

import socket

from collector.app.demo import with_free_modbus_ports
from collector.app.localservices import free_port, free_ports
from hazwatch.config import load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.schema import ModbusDevice


def test_a_process_never_hands_out_the_same_port_twice_even_after_it_was_released() -> None:
    ports = free_ports(200) + [free_port() for _ in range(800)]
    assert len(set(ports)) == len(ports)


def test_a_handed_out_port_can_be_bound_on_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", free_port()))


def test_every_modbus_device_of_the_demo_gets_its_own_port() -> None:
    config = with_free_modbus_ports(load_config(EXAMPLES / "coal-mine.yaml"))
    ports = [d.port for site in config.sites for d in site.devices if isinstance(d, ModbusDevice)]
    assert len(ports) > 1 and len(set(ports)) == len(ports)
