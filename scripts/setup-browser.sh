#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing and we may (root + apt).
# Playwright drives it by executable path; `playwright install` is never called.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-browser: not root or no apt-get; install Debian's chromium to run browser tests" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null
