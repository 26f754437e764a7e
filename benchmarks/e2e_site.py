"""The end-to-end fleet: mines whose whole KJ monitoring system reports through one MQTT gateway.

Each site is the example mine's sensor mix repeated `copies` times (new area and sensor ids), and
one gateway device publishes every sensor of the site in one batch payload, as mine-wide gateways
do. Both the load generator and the hazwatch process build the config from the same arguments.
"""

from __future__ import annotations

from benchmarks.fleet import replicate, template_site
from hazwatch.config.notify import Subscriber, SubscriberFilter, WebhookSettings
from hazwatch.config.schema import HazwatchConfig, InfluxSettings, MqttDevice, MqttSettings, MqttTopic

TOPIC = "province/{site}/gateway"


def e2e_config(
    sites: int, copies: int, broker_url: str, influx_url: str, webhook_url: str, state_dir: str
) -> HazwatchConfig:
    template = template_site()
    areas = []
    for k in range(copies):
        for area in template.areas:
            sensors = [s.model_copy(update={"id": f"{s.id}-{k}"}) for s in area.sensors]
            areas.append(area.model_copy(update={"id": f"{area.id}-{k}", "sensors": sensors, "airflow_paths": []}))
    sensor_ids = [s.id for area in areas for s in area.sensors]
    base = replicate(sites)
    out = []
    for site in base.sites:
        gateway = MqttDevice(
            id="kj-gateway",
            protocol="mqtt",
            qos=1,
            expected_interval=2.0,
            sensors=sensor_ids,
            topics=[
                MqttTopic(
                    pattern=TOPIC.replace("{site}", site.id),
                    payload="gateway",
                    items_path="points",
                    id_path="id",
                    value_path="v",
                    time_path="ts",
                    quality_path="q",
                )
            ],
        )
        out.append(site.model_copy(update={"areas": areas, "devices": [gateway], "groups": []}))
    return base.model_copy(
        update={
            "sites": out,
            "mqtt": MqttSettings(url=broker_url, client_id="hazwatch-bench"),
            "influxdb": InfluxSettings(url=influx_url, spool_dir=f"{state_dir}/spool", batch_size=10_000),
            "webhooks": WebhookSettings(
                subscribers=[
                    Subscriber(
                        name="bench",
                        url=webhook_url,
                        filter=SubscriberFilter(rules=["threshold.*"], transitions=["raise", "escalate"]),
                    )
                ]
            ),
            "state_dir": state_dir,
        }
    )
