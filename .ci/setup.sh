#!/usr/bin/env bash
# Set up everything sessiontape needs on a fresh Debian machine (run as root).
# Idempotent: re-running skips what is already there. Used by `make demo`, `make test`
# and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/lib/chromium/chromium ] || need_apt+=(chromium)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v xvfb-run >/dev/null || need_apt+=(xvfb)
# SoftHSM2: the PKCS#11 token the key-store tests (tests/keys) generate and use keys in.
command -v softhsm2-util >/dev/null || need_apt+=(softhsm2)
# pdftotext: the report tests (tests/replay/test_report.py) read the text of report.pdf.
command -v pdftotext >/dev/null || need_apt+=(poppler-utils)
# systemd-analyze and desktop-file-validate: the install tests (tests/platform, tests/cli)
# check the written units and autostart entry with the tools the OS itself uses.
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
command -v desktop-file-validate >/dev/null || need_apt+=(desktop-file-utils)
# PostgreSQL: the firm console's search index backend (tests/console start a private server
# with initdb + pg_ctl on a Unix socket); xdotool: the headful workstation tests type into
# the real omnibox under Xvfb.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql postgresql-contrib)
command -v xdotool >/dev/null || need_apt+=(xdotool)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
# gcc and the Python headers: pip install builds the chunk encoder's packer (agent/seal/_packc.c).
command -v gcc >/dev/null || need_apt+=(gcc)
python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("include"), "Python.h")))' 2>/dev/null || need_apt+=(python3-dev)
command -v python3 >/dev/null || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# npm packages: the committed recorder bundle needs none at run time; the rrweb 2.2.2 peer of
# the capture benchmark (and its test) loads rrweb's own dist from recorder_js/node_modules,
# pinned by recorder_js/package-lock.json. `make bundle` rebuilds the bundle from them.
if ! command -v npm >/dev/null; then
  echo "setup: apt-get install nodejs npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi
lock_stamp=recorder_js/node_modules/.installed-$(sha256sum recorder_js/package-lock.json | cut -c1-16)
if [ ! -f "$lock_stamp" ]; then
  echo "setup: npm ci (recorder_js)"
  (cd recorder_js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$lock_stamp"
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
# Re-installed (and the C part rebuilt) when what pip builds from changes.
stamp=.venv/.installed-$(cat pyproject.toml setup.py agent/seal/_packc.c | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: pip install -e .[test]"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  touch "$stamp"
fi
echo "setup: ready ($(.venv/bin/python --version), $(/usr/lib/chromium/chromium --version 2>/dev/null | head -1))"
