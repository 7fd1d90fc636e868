#!/usr/bin/env bash
# Make sure a headless Chromium is there for the browser tests.
# Order: $MHA_CHROMIUM; Debian's chromium-headless-shell (installed with apt-get when root and
# missing: the same Blink as chromium without the browser's interface, and the lightest to run);
# a chromium (or chromium-browser) on PATH; else Playwright's own browser (`playwright install
# chromium`, which needs its download host). tests/browser/harness.py (chromium_executable)
# looks in the same order.
set -euo pipefail
if [ -n "${MHA_CHROMIUM:-}" ]; then
  [ -x "$MHA_CHROMIUM" ] || { echo "MHA_CHROMIUM=$MHA_CHROMIUM is not executable" >&2; exit 1; }
  exit 0
fi
if command -v chromium-headless-shell >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium-headless-shell for the browser tests ..."
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell >/dev/null; then
    exit 0
  fi
  echo "chromium-headless-shell is not in this system's packages; trying chromium ..." >&2
  command -v chromium >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
echo "No chromium found; installing Playwright's own Chromium ..."
.venv/bin/python -m playwright install chromium
