#!/usr/bin/env bash
# Installs Chinwag for the current user from this checkout and starts it.
#
#   bash packaging/install.sh [chinwag args...]
#
# As root on Debian/Ubuntu it installs the system packages it needs; otherwise it says
# which. Chinwag goes into ~/.local/share/chinwag/venv with a launcher in ~/.local/bin.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"

DEBIAN_PACKAGES=(python3 python3-venv libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0
  libfontconfig1 libglib2.0-0 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  gnome-keyring)
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${DEBIAN_PACKAGES[@]}"
  else
    echo "Install first, as root: apt-get install -y ${DEBIAN_PACKAGES[*]}" >&2
    exit 2
  fi
fi

venv="${XDG_DATA_HOME:-$HOME/.local/share}/chinwag/venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$src"
mkdir -p "$HOME/.local/bin"
ln -sf "$venv/bin/chinwag" "$HOME/.local/bin/chinwag"
ln -sf "$venv/bin/chinwag-remote" "$HOME/.local/bin/chinwag-remote"
echo "Installed: $HOME/.local/bin/chinwag"
exec "$venv/bin/chinwag" "$@"
