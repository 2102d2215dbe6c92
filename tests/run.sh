#!/usr/bin/env bash
# Installs what Chinwag's tests need and runs the whole suite: lint, types, tests.
#
#   bash tests/run.sh [pytest args...]
#
# As root on Debian/Ubuntu it installs the system packages itself (Prosody and its
# community modules, dbus, the Qt runtime libraries, Xvfb); otherwise it says exactly
# which to install. Python packages go into .venv/ beside this checkout (pinned in
# pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  python3 python3-venv python3-pip      # the interpreter and venv
  prosody                               # the real XMPP server the tests run
  prosody-modules                       # its community modules: muc_moderation (XEP-0425)
  dbus openssl                          # dbus-daemon for private test buses, dbus-send
  libglib2.0-bin                        # gdbus: the API is tested from the shell too
  curl jq                               # the UCWA gateway is tested with curl; its shell bot
  libgl1 libegl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3  # Qt's runtime
  xvfb libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0  # a virtual X screen
  gnome-keyring gcr                     # a real Secret Service and its prompts (rig/keyring.py)
  iproute2                              # ip: a second network namespace (gateways' loopback test)
  desktop-file-utils appstream          # desktop-file-validate, appstreamcli: packaging/ checked
  pipx                                  # pipx install . (tests/packaging/test_pipx_install.py)
  trayer libx11-6 libxtst6              # a real tray host on Xvfb, looked at and clicked (rig/xdesktop.py)
  libenchant-2-2 hunspell-en-us hunspell-de-de  # spell check: enchant over hunspell dictionaries
  fonts-noto-color-emoji                # colour emoji (tests/ui/test_emoji_picker.py renders one)
)

# Stops Debian's system-wide Prosody through its service and, should it still be there (no
# init system in a container, say), by the pid in its pidfile ($1) when that pid runs
# /usr/bin/prosody. Never by name: the tests' own servers, and anyone else's, are prosody
# processes too.
stop_system_prosody() {
  local pidfile="$1" pid args=()
  if command -v systemctl >/dev/null 2>&1; then
    systemctl stop prosody >/dev/null 2>&1 || true
  fi
  if command -v service >/dev/null 2>&1; then
    service prosody stop >/dev/null 2>&1 || true
  fi
  [ -r "$pidfile" ] || return 0
  pid="$(head -c 32 "$pidfile" | tr -d '[:space:]')"
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] || return 0
  # Prosody runs as "lua5.x /usr/bin/prosody": a stale pidfile may name another process.
  mapfile -d '' args 2>/dev/null < "/proc/$pid/cmdline" || return 0
  if [ "${#args[@]}" -ge 2 ] && [ "$(basename -- "${args[1]}")" = prosody ]; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  return 0
}

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
    stop_system_prosody /run/prosody/prosody.pid
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
echo "== mypy (strict: api, core, storage, xmpp, automation, cli, system, ui, app; the tests' fakes against the ports)"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
