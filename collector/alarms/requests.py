"""What an operator action's JSON body may hold, checked before anything changes or is written to the audit trail.

The API is reachable by anyone holding the token, including a broken script: a list where a number
belongs, a 900 KB `user` or a 100k-deep document must each get a 400 with the reason, never a 500,
and never reach the audit trail. pydantic does the checking, so every refusal names its field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from collector.alarms.actions import DEFAULT_SHELVE_MINUTES, MAX_COMMENT_CHARS, MAX_SHELVE_MINUTES, MAX_USER_CHARS

MAX_BODY_BYTES = 64 * 1024
"""An action body is a user, a comment and a number: far below this."""

_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    user: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_USER_CHARS, pattern=_PRINTABLE),
        Field(strict=True),
    ]
    comment: Annotated[str, StringConstraints(max_length=MAX_COMMENT_CHARS), Field(strict=True)] | None = None
    minutes: Annotated[
        float, Field(strict=True, gt=0, le=MAX_SHELVE_MINUTES, allow_inf_nan=False)
    ] = DEFAULT_SHELVE_MINUTES
    """Shelving is time-limited; only `shelve` reads it."""

    def params(self) -> dict[str, object]:
        """What the action takes from the body: only the fields the operator sent."""
        return {name: getattr(self, name) for name in ("comment", "minutes") if name in self.model_fields_set}


class BadAction(ValueError):
    """The body cannot be acted on; the message names the field and why."""


def parse_action(body: dict) -> ActionBody:
    user = body.get("user")
    if user is None or (isinstance(user, str) and not user.strip()):
        raise BadAction("say who you are: body field `user`")
    try:
        return ActionBody.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadAction(f"{field}: {first['msg']}") from None
