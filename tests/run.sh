#!/usr/bin/env bash
# Installs what Chinwag's tests need and runs the whole suite: lint, types, tests.
#
#   bash tests/run.sh [pytest args...]
#
# As root on Debian/Ubuntu it installs the system packages itself (Prosody, dbus, the Qt
# runtime libraries, Xvfb); otherwise it says exactly which to install. Python packages go
# into .venv/ beside this checkout (pinned in pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  python3 python3-venv python3-pip      # the interpreter and venv
  prosody                               # the real XMPP server the tests run
  dbus openssl                          # dbus-daemon for private test buses, dbus-send
  libglib2.0-bin                        # gdbus: the API is tested from the shell too
  libgl1 libegl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3  # Qt's runtime
  xvfb libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0  # a virtual X screen
  gnome-keyring gcr                     # a real Secret Service and its prompts (rig/keyring.py)
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts a system-wide Prosody on install; the tests run their own.
    (service prosody stop || pkill -x prosody || true) >/dev/null 2>&1
  else
    echo "Missing Debian packages. Install them, as root, then run this again:" >&2
    echo "  apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import chinwag, pytestqt, slixmpp' >/dev/null 2>&1 \
   || [ pyproject.toml -nt .venv/.installed ]; then
  echo "== installing Python packages"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
  touch .venv/.installed
fi

echo "== ruff"
.venv/bin/ruff check gui tests bench
.venv/bin/ruff format --check gui tests bench
echo "== mypy (strict: core, storage, xmpp, automation)"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
