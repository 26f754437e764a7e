"""Webhook subscribers: who gets which alarm events, and how delivery is retried and escalated."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from hazwatch.config.channels import AlertmanagerOptions, ResponseSettings, RobotOptions
from hazwatch.config.limits import StrictModel

ROBOT_FORMATS = ("wecom", "dingtalk", "feishu")


class SubscriberFilter(StrictModel):
    sites: list[str] = Field(default_factory=list, description="empty: every site")
    min_level: int = Field(default=0, ge=0, le=3)
    kinds: list[str] = Field(default_factory=list, description="sensor kinds; empty: every kind")
    categories: list[Literal["process", "health", "system"]] = Field(default_factory=list)
    transitions: list[str] = Field(default_factory=list, description="raise, escalate, clear, ...; empty: all")
    states: list[str] = Field(
        default_factory=list, description="unacknowledged, latched, ... (the state after the event); empty: all"
    )
    rules: list[str] = Field(
        default_factory=list, description="rule names or shell patterns, e.g. health.offline, threshold.*"
    )


class Escalation(StrictModel):
    after_minutes: float = Field(default=5.0, gt=0, description="unacknowledged this long: notify the next contact")
    chain: list[str] = Field(default_factory=list, description="URLs notified in turn")


class Subscriber(StrictModel):
    name: str
    url: str
    format: Literal["hazwatch", "alertmanager", "wecom", "dingtalk", "feishu"] = "hazwatch"
    filter: SubscriberFilter | list[SubscriberFilter] = Field(
        default_factory=SubscriberFilter, description="a list: an event is sent when it matches any entry"
    )
    escalation: Escalation | None = None
    secret_env: str | None = Field(default=None, description="this receiver's own signing secret (else the global)")
    secret_file: str | None = Field(default=None, description="file holding this receiver's signing secret")
    alertmanager: AlertmanagerOptions = Field(default_factory=AlertmanagerOptions)
    robot: RobotOptions = Field(default_factory=RobotOptions, description="dingtalk / feishu: the robot's sign secret")

    @model_validator(mode="after")
    def _fits_the_format(self) -> Subscriber:
        filters = self.filter if isinstance(self.filter, list) else [self.filter]
        if self.format == "alertmanager" and any(f.transitions or f.states for f in filters):
            # Alertmanager is fed the alarm's standing state; a filter on events would stop re-posts and
            # Alertmanager would announce a standing alarm as resolved.
            raise ValueError("an alertmanager subscriber cannot filter on transitions or states")
        if self.format == "alertmanager" and self.escalation is not None:
            raise ValueError("an alertmanager subscriber cannot escalate: Alertmanager's routes repeat")
        return self


class WebhookSettings(StrictModel):
    secret_env: str = "HAZWATCH_WEBHOOK_SECRET"
    secret_file: str | None = None
    ca_file: str | None = Field(default=None, description="CA bundle trusted for https:// receivers")
    timeout: float = Field(default=5.0, gt=0, description="seconds one delivery attempt may take in total")
    backoff_initial: float = Field(default=0.5, gt=0)
    backoff_max: float = Field(default=30.0, gt=0)
    subscribers: list[Subscriber] = Field(default_factory=list)
    max_concurrent: int = Field(default=16, ge=1, description="deliveries in flight at once, over all receivers")
    responses: ResponseSettings = Field(default_factory=ResponseSettings)
    max_concurrent_per_subscriber: int = Field(
        default=4, ge=1, description="of those, at most this many to one subscriber: a slow one delays only itself"
    )
