#!/usr/bin/env bash
# Installs Chinwag for the current user from this checkout and starts it.
#
#   bash packaging/install.sh [chinwag args...]
#   bash packaging/install.sh --print-paths    # where it installs; changes nothing
#
# Run it as yourself: the system packages it needs are installed with apt-get (through sudo
# when you are not root; without sudo it prints what to install). Chinwag goes into its
# own venv, ~/.local/share/chinwag-venv, with launchers in ~/.local/bin. Not inside
# ~/.local/share/chinwag: that folder holds your history and passwords and is yours alone
# (mode 0700); a venv left there by an older version of this script is removed.
#
# Environment: CHINWAG_VENV installs into another folder; CHINWAG_SKIP_SYSTEM_PACKAGES=1
# neither checks nor installs Debian packages; CHINWAG_NO_START=1 installs only.
# pip's own PIP_* variables apply (PIP_INDEX_URL, PIP_FIND_LINKS, ...).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"

data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
profile_dirs=("$data_home/chinwag" "${XDG_CONFIG_HOME:-$HOME/.config}/chinwag"
  "${XDG_STATE_HOME:-$HOME/.local/state}/chinwag")
venv="${CHINWAG_VENV:-$data_home/chinwag-venv}"
bin_dir="$HOME/.local/bin"
old_venv="$data_home/chinwag/venv" # where versions before this one put it

case "$venv/" in
  "$data_home/chinwag/"*)
    echo "CHINWAG_VENV=$venv is inside $data_home/chinwag, which must stay private" >&2
    exit 2
    ;;
esac

if [ "${1:-}" = "--print-paths" ]; then
  printf 'venv=%s\nbin=%s\ndata=%s\nold_venv=%s\n' "$venv" "$bin_dir" "$data_home/chinwag" \
    "$old_venv"
  exit 0
fi

if [ -z "${CHINWAG_SKIP_SYSTEM_PACKAGES:-}" ]; then
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
fi

python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$src"
mkdir -p "$bin_dir"
ln -sfn "$venv/bin/chinwag" "$bin_dir/chinwag"
ln -sfn "$venv/bin/chinwag-remote" "$bin_dir/chinwag-remote"

# The launchers point at the new venv now: the old one can go. Only a venv is removed.
if [ "$old_venv" != "$venv" ] && [ -f "$old_venv/pyvenv.cfg" ]; then
  rm -rf -- "$old_venv"
  echo "Removed the previous installation in $old_venv (Chinwag now lives in $venv)."
fi
# History, passwords, settings and logs: readable by you alone (Chinwag keeps them so).
for dir in "${profile_dirs[@]}"; do
  if [ -d "$dir" ]; then chmod go-rwx "$dir"; fi
done

echo "Installed: $bin_dir/chinwag"
if [ -n "${CHINWAG_NO_START:-}" ]; then
  exit 0
fi
exec "$venv/bin/chinwag" "$@"
