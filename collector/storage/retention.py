"""Database, retention policies and the 5-minute statistics continuous query (InfluxDB 1.x, InfluxQL).

Raw readings are kept for a configurable time (mine rules ask for at least two years); the
5-minute max/min/mean per analog point that provincial platforms take are computed inside
InfluxDB by a continuous query into their own, longer retention policy, so long-term views and
bureau reports never scan raw data.
"""

from __future__ import annotations

from hazwatch.config.kinds import BINARY_KINDS
from hazwatch.config.schema import InfluxSettings
from hazwatch.storage.schema import READINGS, READINGS_5M

STATS_QUERY_NAME = "readings_5m"
STATS_RESAMPLE_FOR = "15m"
"""Each run recomputes the last 15 minutes, so readings replayed late after a short outage still count."""

DEFAULT_RAW_POLICY = "autogen"


def quote_identifier(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def raw_policy(settings: InfluxSettings) -> str:
    """Raw readings go to the configured policy, else to `autogen`, made the database default."""
    return settings.retention_policy or DEFAULT_RAW_POLICY


def statistics_select(settings: InfluxSettings, between_ns: tuple[int, int] | None = None) -> str:
    """The SELECT ... INTO behind the continuous query; with `between_ns` it back-fills that time range.

    Only GOOD readings of analog kinds count: a 0/1 state or an offline row is no atmosphere.
    """
    during = f"AND time >= {between_ns[0]} AND time < {between_ns[1]} " if between_ns else ""
    db = quote_identifier(settings.database)
    binary = "|".join(sorted(kind.value for kind in BINARY_KINDS))
    return (
        'SELECT max("value") AS "max", min("value") AS "min", mean("value") AS "mean" '
        f"INTO {db}.{quote_identifier(settings.stats_retention_policy)}.{quote_identifier(READINGS_5M)} "
        f"FROM {db}.{quote_identifier(raw_policy(settings))}.{quote_identifier(READINGS)} "
        f'WHERE "quality" = 0 AND "kind" !~ /^({binary})$/ {during}'
        "GROUP BY time(5m), *"
    )


def continuous_query(settings: InfluxSettings) -> str:
    return (
        f"CREATE CONTINUOUS QUERY {quote_identifier(STATS_QUERY_NAME)} ON {quote_identifier(settings.database)} "
        f"RESAMPLE EVERY 5m FOR {STATS_RESAMPLE_FOR} "
        f"BEGIN {statistics_select(settings)} END"
    )


def create_database(settings: InfluxSettings) -> str:
    return f"CREATE DATABASE {quote_identifier(settings.database)}"


def policy_statements(settings: InfluxSettings, existing_policies: set[str]) -> list[str]:
    """Statements that bring the database's policies to the configured durations (create or alter each)."""
    db = quote_identifier(settings.database)
    statements = []
    for name, duration, default in (
        (raw_policy(settings), settings.raw_retention, " DEFAULT"),
        (settings.stats_retention_policy, settings.stats_retention, ""),
    ):
        verb = "ALTER" if name in existing_policies else "CREATE"
        replication = "" if verb == "ALTER" else " REPLICATION 1"
        statements.append(
            f"{verb} RETENTION POLICY {quote_identifier(name)} ON {db} DURATION {duration}{replication}{default}"
        )
    return statements
