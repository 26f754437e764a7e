"""MqttAlarmSink: a retained alarm-state message per sensor on `{alarm_topic_prefix}/{site}/{sensor}`.

Retained, so an HMI, a PLC gateway or a phone app that subscribes at any time gets every sensor's
current alarm state at once, instead of having to replay the event history. The message holds the
sensor's whole active-alarm list, not just the last event, and is re-published after a reconnect.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from collector.notify.payload import PayloadBuilder, encode
from collector.sources.mqtt.source import broker_address, configure_client
from collector.telemetry.logs import RateLimitedLog
from detectors.alarms.lifecycle import SERVICE_RULE
from hazwatch.config import SensorRegistry
from hazwatch.config.schema import MqttSettings
from hazwatch.events import AlarmEvent, AlarmState, Transition

log = logging.getLogger("hazwatch.mqtt_alarms")


class MqttAlarmSink:
    def __init__(self, settings: MqttSettings, registry: SensorRegistry, client_id_suffix: str = "-alarms") -> None:
        self.settings = settings
        self.builder = PayloadBuilder(registry)
        self._active: dict[str, dict[str, dict[str, object]]] = {}
        """topic -> rule -> the latest payload of each active alarm of that sensor."""
        self._messages: dict[str, bytes] = {}
        self._out_of_service: set[str] = set()
        self._lock = threading.Lock()
        self._problems = RateLimitedLog(log)
        self.address = broker_address(settings)
        protocol = mqtt.MQTTv5 if settings.protocol == "5" else mqtt.MQTTv311
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=settings.client_id + client_id_suffix, protocol=protocol
        )
        configure_client(self.client, self.address)
        self.client.on_connect = self._on_connect
        self.client.reconnect_delay_set(0.5, 1)
        self._started = False

    def topic(self, payload: dict[str, object]) -> str:
        return f"{self.settings.alarm_topic_prefix}/{payload['site']}/{payload['sensor']}"

    # ---- EventSink ------------------------------------------------------------------------

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        self._ensure_started()
        for event in events:
            payload = self.builder.build(event)
            topic = self.topic(payload)
            with self._lock:
                message = self._update(topic, event, payload)
                self._messages[topic] = message
            self._publish(topic, message)

    async def run(self) -> None:
        self._ensure_started()

    async def close(self) -> None:
        if self._started:
            self.client.disconnect()
            self.client.loop_stop()
            self._started = False

    # ---- internals ------------------------------------------------------------------------

    def _ensure_started(self) -> None:
        if not self._started:
            self._started = True
            self.client.connect_async(self.address.host, self.address.port, keepalive=30)
            self.client.loop_start()

    def _update(self, topic: str, event: AlarmEvent, payload: dict[str, object]) -> bytes:
        alarms = self._active.setdefault(topic, {})
        if event.rule == SERVICE_RULE:
            if event.transition is Transition.OUT_OF_SERVICE:
                self._out_of_service.add(topic)
            else:
                self._out_of_service.discard(topic)
        elif event.state is AlarmState.NORMAL:
            alarms.pop(event.rule, None)
        else:
            alarms[event.rule] = payload
        out_of_service = topic in self._out_of_service
        worst = max(alarms.values(), key=lambda a: (int(a["level"]), str(a["time"])), default=None)
        if worst is not None:
            state = str(worst["state"])
        else:
            state = AlarmState.OUT_OF_SERVICE.value if out_of_service else AlarmState.NORMAL.value
        message = {
            "site": payload["site"],
            "area": payload["area"],
            "sensor": payload["sensor"],
            "kind": payload["kind"],
            "unit": payload["unit"],
            "state": state,
            "level": int(worst["level"]) if worst else 0,
            "level_name": worst["level_name"] if worst else "normal",
            "out_of_service": out_of_service,
            "active": sorted(alarms.values(), key=lambda a: -int(a["level"])),
            "time": payload["time"],
            "event_id": payload["event_id"],
        }
        if not alarms:
            del self._active[topic]
        return encode(message)

    def _publish(self, topic: str, message: bytes) -> None:
        info = self.client.publish(topic, message, qos=1, retain=True)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            # Not connected: the retained state is re-published from _messages on reconnect.
            self._problems.warning("publish", "alarm state for %s not published now (rc=%s)", topic, info.rc)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._problems.error(
                "connect", "MQTT broker %s refused the alarm publisher: %s", self.address, reason_code
            )
            return
        with self._lock:
            pending = list(self._messages.items())
        for topic, message in pending:
            client.publish(topic, message, qos=1, retain=True)
