"""Refuse weak secrets before anything starts: `hazwatch check` and `hazwatch run` exit 2 naming the field.

A webhook signing secret, the response-link secret or an operator API token that is short, or still the
`change-me` of the shipped templates, lets anyone who reads one signature (or guesses) forge alarms or silence
sensors.
A secret that is not set is not a problem here: `run` refuses a missing webhook secret on its own,
and starts no API without a token.
"""

from __future__ import annotations

import os

from collector.alarms.api import TOKEN_ENV
from hazwatch.config import HazwatchConfig
from hazwatch.credentials import SecretProblem, check_strength, read_secret


def _check(problems: list[SecretProblem], field: str, env: str | None, file: str | None) -> None:
    try:
        value = read_secret(env, file)
        if value is not None:
            check_strength(value, field)
    except SecretProblem as problem:
        problems.append(problem if problem.field == field else SecretProblem(field, problem.reason))


def secret_problems(config: HazwatchConfig, api_token: bool = True) -> list[SecretProblem]:
    """Every set-but-unusable secret of `config` (and the API token when `api_token`), by field path."""
    problems: list[SecretProblem] = []
    webhooks = config.webhooks
    shared_needed = any(not (s.secret_env or s.secret_file) for s in webhooks.subscribers)
    if shared_needed or not webhooks.subscribers:
        source = f"${webhooks.secret_env}" if os.environ.get(webhooks.secret_env) else webhooks.secret_file
        _check(problems, f"webhooks.secret ({source})", webhooks.secret_env, webhooks.secret_file)
    for index, subscriber in enumerate(webhooks.subscribers):
        if subscriber.secret_env or subscriber.secret_file:
            own = f"${subscriber.secret_env}" if subscriber.secret_env else subscriber.secret_file
            field = f"webhooks.subscribers[{index}] ({subscriber.name}) secret ({own})"
            _check(problems, field, subscriber.secret_env, subscriber.secret_file)
    responses = webhooks.responses
    if responses.public_url:
        source = f"${responses.secret_env}" if os.environ.get(responses.secret_env or "") else responses.secret_file
        _check(problems, f"webhooks.responses.secret ({source})", responses.secret_env, responses.secret_file)
    if api_token:
        _check(problems, f"${TOKEN_ENV}", TOKEN_ENV, None)
    return problems
