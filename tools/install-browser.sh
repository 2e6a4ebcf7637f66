#!/usr/bin/env bash
# The review page is tested in a real headless Chromium: Debian's package, never a browser
# download. Installs it when missing and this user may; otherwise the browser tests skip.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium not found and cannot be installed here: browser tests will be skipped" >&2
fi
