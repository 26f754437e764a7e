"""Scenarios: incident timelines as YAML data files, with the alarms they must (and must not) raise."""
