#!/usr/bin/env bash
# Installs everything hazwatch needs on a fresh Debian/Ubuntu machine: the real servers the demo and tests
# talk to (Mosquitto, InfluxDB 1.x, VictoriaMetrics for the v2 write path, mbpoll, tmux, Chromium for the console's
# browser tests) and a virtualenv
# with hazwatch and its test extra. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v influxd >/dev/null 2>&1 || need_apt+=(influxdb)
command -v mbpoll >/dev/null 2>&1 || need_apt+=(mbpoll)
command -v victoria-metrics >/dev/null 2>&1 || need_apt+=(victoria-metrics)
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
command -v prometheus-alertmanager >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need_apt+=(fonts-wqy-microhei)  # Chinese in screenshots
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
# The Debian packages start their own daemons where an init system runs; hazwatch starts private ones.
for svc in mosquitto influxdb; do
    systemctl stop "$svc" >/dev/null 2>&1 || true
done

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"

# An outside Sparkplug B edge node for the tests (tests/collector/sources/mqtt/spb_edge_node.py): pysparkplug
# pins paho-mqtt below 2 while hazwatch needs 2.x, so it lives in a virtualenv of its own.
[ -x .venv-sparkplug/bin/python ] || python3 -m venv .venv-sparkplug
.venv-sparkplug/bin/python -m pip install -q "pysparkplug>=0.6.1"
