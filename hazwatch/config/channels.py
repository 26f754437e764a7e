"""Per-channel options of a webhook subscriber: Alertmanager's feed, the chat robots, and the response links.

Kept apart from the subscriber model so each channel's knobs sit next to why they exist.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from hazwatch.config.limits import StrictModel

DEFAULT_SEVERITY = {1: "warning", 2: "critical", 3: "critical"}


class AlertmanagerOptions(StrictModel):
    """How hazwatch feeds Alertmanager's `POST /api/v2/alerts` the way Prometheus does."""

    repost_seconds: float = Field(
        default=30.0,
        gt=0,
        description="every active alarm is posted again this often; keep it well below Alertmanager's resolve_timeout",
    )
    ends_after_reposts: int = Field(
        default=4,
        ge=2,
        description="endsAt of a firing alert lies this many re-post intervals ahead: one lost post never resolves it",
    )
    severity: dict[int, str] = Field(
        default_factory=lambda: dict(DEFAULT_SEVERITY),
        description="alarm level -> the `severity` annotation (levels above the highest key use the highest key's)",
    )
    generator_url: str = Field(default="", description="back-link shown in Alertmanager, e.g. the Grafana dashboard")
    username: str | None = Field(default=None, description="basic auth user of Alertmanager's web config")
    password_env: str | None = Field(default=None, description="environment variable holding the basic auth password")
    password_file: str | None = None
    bearer_token_env: str | None = Field(
        default=None, description="environment variable holding a bearer token (an authenticating proxy in front)"
    )
    bearer_token_file: str | None = None

    @model_validator(mode="after")
    def _one_kind_of_auth(self) -> AlertmanagerOptions:
        basic = self.username is not None
        bearer = self.bearer_token_env is not None or self.bearer_token_file is not None
        if basic and bearer:
            raise ValueError("set either basic auth (username + password) or a bearer token, not both")
        if basic and self.password_env is None and self.password_file is None:
            raise ValueError("basic auth needs password_env or password_file")
        if not self.severity:
            raise ValueError("severity needs at least one level")
        return self


class RobotOptions(StrictModel):
    """Signing secret of a DingTalk or Feishu group robot (its 'sign' security setting)."""

    secret_env: str | None = Field(default=None, description="environment variable holding the robot's secret")
    secret_file: str | None = None


class ResponseSettings(StrictModel):
    """Response links: the person paged answers from the message itself (call and response)."""

    public_url: str | None = Field(
        default=None,
        description="base URL of the alarm API as the people paged reach it, e.g. https://hazwatch.plant.example",
    )
    secret_env: str = "HAZWATCH_RESPONSE_SECRET"
    secret_file: str | None = None
    valid_minutes: float = Field(default=24 * 60.0, gt=0, le=7 * 24 * 60.0, description="how long a link can be used")
