#!/usr/bin/env bash
# Installs promtool (Debian/Ubuntu's `prometheus` package) for the alert-rule checks when it is
# missing and we may: root, or passwordless sudo (CI runners), with apt-get.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-promtool: no apt-get; install Prometheus's promtool to check the alert rules" >&2
  exit 1
fi
if [ "$(id -u)" = "0" ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "setup-promtool: not root and no passwordless sudo; install the prometheus package" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >/dev/null
"${as_root[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v promtool >/dev/null
