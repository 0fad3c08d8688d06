#!/usr/bin/env sh
# Debian packages the test suite drives for real: Chromium (pages, through Playwright) and PostgreSQL
# (the store and checkpoints by URL). Installs only what is missing; needs root (or sudo).
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
[ -z "$missing" ] && exit 0
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing Debian packages:$missing" >&2
run apt-get update -qq
DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq $missing >/dev/null
