"""alarms."""

TOKEN_ENV = "HAZWATCH_API_TOKEN"
"""The environment variable holding the alarm API's bearer token (here so the CLI need not load the API)."""
