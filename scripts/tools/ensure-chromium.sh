#!/usr/bin/env bash
# Playwright cannot download its own browser on these machines; the e2e tests
# drive Debian's Chromium. Installs it when missing and we may (root + apt).
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$browser" ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-chromium: installing Debian's chromium for the e2e tests"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  exit 0
fi
echo "ensure-chromium: $browser not found. Install Chromium (Debian: sudo apt-get install chromium) or set CHROMIUM_PATH." >&2
exit 1
