#!/usr/bin/env bash
# The review page is tested in a real headless Chromium: Debian's package, never a browser
# download, with Debian's Noto CJK fonts so that the Chinese page renders (and its screenshots
# show glyphs, not boxes). Installs what is missing when this user may; otherwise the browser
# tests skip (no chromium) or render CJK as boxes (no fonts).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ! { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; }; then
  missing+=(fonts-noto-cjk)
fi
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's ${missing[*]} for the browser tests"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "${missing[*]} not found and cannot be installed here: browser tests will be skipped or render CJK as boxes" >&2
fi
