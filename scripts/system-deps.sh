#!/usr/bin/env sh
# Debian packages the test suite drives for real: Chromium (pages, through Playwright) and PostgreSQL (the store
# and checkpoints by URL; `make cluster` runs it too). Installs only what is missing; needs root (or sudo).
#   sh scripts/system-deps.sh [chromium] [postgresql]     (both without arguments)
set -eu
missing=""
for package in ${*:-chromium postgresql}; do
  case "$package" in
    chromium) command -v chromium >/dev/null 2>&1 || missing="$missing chromium" ;;
    postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql" ;;
    *) echo "unknown package: $package (chromium or postgresql)" >&2; exit 2 ;;
  esac
done
[ -z "$missing" ] && exit 0
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "installing Debian packages:$missing" >&2
run apt-get update -qq
DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq $missing >/dev/null
