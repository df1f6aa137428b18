#!/usr/bin/env bash
# The distributed-mode tests (server/distributed/) start Debian's redis-server themselves on a
# free loopback port, persistence off, and stop it after. Installs it when missing and we may
# (root + apt); no Redis service is started or needed.
set -euo pipefail
if command -v redis-server >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-redis: installing Debian's redis-server for the distributed-mode tests"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  exit 0
fi
echo "ensure-redis: redis-server not found. Install it (Debian: sudo apt-get install redis-server)." >&2
exit 1
