"""Grafana dashboards and provisioning generated from the site config, and pushing them to Grafana."""
