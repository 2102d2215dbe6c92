#!/usr/bin/env bash
# Installs Chinwag for the current user from this checkout and starts it.
#
#   bash packaging/install.sh [chinwag args...]
#
# Run it as yourself: the system packages it needs are installed with apt-get (through sudo
# when you are not root; without sudo it prints what to install). Chinwag goes into
# ~/.local/share/chinwag/venv with launchers in ~/.local/bin.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"

DEBIAN_PACKAGES=(python3 python3-venv libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0
  libfontconfig1 libglib2.0-0 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  gnome-keyring)
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ] && command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    echo "Install first, as root: apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

venv="${XDG_DATA_HOME:-$HOME/.local/share}/chinwag/venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$src"
mkdir -p "$HOME/.local/bin"
ln -sf "$venv/bin/chinwag" "$HOME/.local/bin/chinwag"
ln -sf "$venv/bin/chinwag-remote" "$HOME/.local/bin/chinwag-remote"
echo "Installed: $HOME/.local/bin/chinwag"
exec "$venv/bin/chinwag" "$@"
