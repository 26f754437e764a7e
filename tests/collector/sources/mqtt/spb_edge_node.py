"""An outside Sparkplug B edge node for the tests, built on pysparkplug (not hazwatch's code).

Run with the interpreter of the side virtualenv `scripts/setup.sh` makes (`.venv-sparkplug`): pysparkplug
pins paho-mqtt below 2, hazwatch needs 2.x. It connects with an NDEATH will (so killing this process
makes the broker announce the death), then obeys one JSON command per stdin line and answers `ok`:

  {"op": "birth"}                                   NBIRTH (seq 0) and every DBIRTH
  {"op": "ddata", "device": D, "values": {"1": 2.5}}  DDATA by alias only (no names, no datatypes)
  {"op": "ndata", "values": {"10": 130.25}}         NDATA by alias
  {"op": "skip_seq"}                                lose one message: the next seq jumps
  {"op": "ddeath", "device": D}                     DDEATH

A received NCMD `Node Control/Rebirth` is printed as `ncmd Node Control/Rebirth` and answered the way
a real node does: new births.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading

from pysparkplug import (
    Client,
    DataType,
    DBirth,
    DData,
    DDeath,
    Message,
    MessageType,
    Metric,
    NBirth,
    NData,
    NDeath,
    QoS,
    Topic,
    get_current_timestamp,
)

GROUP, NODE = "hengda", "edge-1"
DEVICES: dict[str, list[tuple[str, int, DataType, object]]] = {
    "reactor1": [
        ("Inputs/Temperature", 1, DataType.DOUBLE, 70.25),
        ("Inputs/Pressure", 2, DataType.FLOAT, 3.5),
        ("Gas/LEL", 3, DataType.INT16, 0),
        ("Status/Text", 4, DataType.STRING, "running"),
    ],
}
NODE_METRICS = [("Line/Flow", 10, DataType.DOUBLE, 120.5)]
DATATYPE_OF = {alias: dtype for rows in [NODE_METRICS, *DEVICES.values()] for _, alias, dtype, _ in rows}

lock = threading.Lock()
seq = itertools.cycle(range(256))
bd_seq = 0


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def topic(kind: MessageType, device: str | None = None) -> Topic:
    return Topic(message_type=kind, group_id=GROUP, edge_node_id=NODE, device_id=device)


def metric(name: str | None, alias: int, dtype: DataType, value: object) -> Metric:
    return Metric(timestamp=get_current_timestamp(), name=name, datatype=dtype, value=value, alias=alias)


def publish_births(client: Client) -> None:
    global seq
    with lock:
        seq = itertools.cycle(range(256))
        node_metrics = (*(metric(*row) for row in NODE_METRICS), metric("bdSeq", 0, DataType.INT64, bd_seq))
        client.publish(Message(topic(MessageType.NBIRTH), NBirth(get_current_timestamp(), next(seq), node_metrics),
                               QoS.AT_MOST_ONCE, False), include_dtypes=True)  # fmt: skip
        for device, rows in DEVICES.items():
            birth = DBirth(get_current_timestamp(), next(seq), tuple(metric(*row) for row in rows))
            client.publish(Message(topic(MessageType.DBIRTH, device), birth, QoS.AT_MOST_ONCE, False),
                           include_dtypes=True)  # fmt: skip


def by_alias(values: dict[str, object]) -> tuple[Metric, ...]:
    return tuple(metric(None, int(alias), DATATYPE_OF.get(int(alias), DataType.DOUBLE), value)
                 for alias, value in values.items())  # fmt: skip


def on_ncmd(client: Client, message: Message) -> None:
    names = [m.name for m in message.payload.metrics]
    say("ncmd " + ",".join(str(n) for n in names))
    if "Node Control/Rebirth" in names:
        publish_births(client)


def main() -> None:
    port = int(sys.argv[1])
    client = Client(client_id=f"{NODE}-outside")
    death = NDeath(get_current_timestamp(), metric("bdSeq", 0, DataType.INT64, bd_seq))
    client.set_will(Message(topic(MessageType.NDEATH), death, QoS.AT_LEAST_ONCE, False))
    client.subscribe(topic(MessageType.NCMD), QoS.AT_LEAST_ONCE, on_ncmd)
    connected = threading.Event()
    client.connect("127.0.0.1", port=port, callback=lambda _: connected.set())
    if not connected.wait(10):
        say("error: no connection")
        return
    say("ready")
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        with lock:
            if op == "ddata":
                payload = DData(get_current_timestamp(), next(seq), by_alias(command["values"]))
                client.publish(Message(topic(MessageType.DDATA, command["device"]), payload, QoS.AT_MOST_ONCE, False))
            elif op == "ndata":
                payload = NData(get_current_timestamp(), next(seq), by_alias(command["values"]))
                client.publish(Message(topic(MessageType.NDATA), payload, QoS.AT_MOST_ONCE, False))
            elif op == "skip_seq":
                next(seq)
            elif op == "ddeath":
                payload = DDeath(get_current_timestamp(), next(seq))
                client.publish(Message(topic(MessageType.DDEATH, command["device"]), payload, QoS.AT_MOST_ONCE, False))
        if op == "birth":
            publish_births(client)
        say("ok")


if __name__ == "__main__":
    main()
