#!/usr/bin/env bash
# Installs Chinwag for the current user from this checkout and starts it.
#
#   bash packaging/install.sh [chinwag args...]
#   bash packaging/install.sh --files-only     # only the desktop files (no apt, no venv)
#   bash packaging/install.sh --uninstall      # removes what it installed; keeps your profile
#   bash packaging/install.sh --print-paths    # where it installs; changes nothing
#
# Run it as yourself: the system packages it needs are installed with apt-get (through sudo
# when you are not root; without sudo it prints what to install). Chinwag goes into its
# own venv, ~/.local/share/chinwag-venv, with launchers in ~/.local/bin. Not inside
# ~/.local/share/chinwag: that folder holds your history and passwords and is yours alone
# (mode 0700); a venv left there by an older version of this script is removed.
#
# It also puts Chinwag in the desktop's menu and on the session bus, in the XDG data
# folder (~/.local/share): applications/im.chinwag.Chinwag.desktop, metainfo/
# im.chinwag.Chinwag.metainfo.xml (AppStream), dbus-1/services/im.chinwag.Chinwag.service
# (a call to im.chinwag.Chinwag starts `chinwag --background`: in the tray, no window),
# icons/hicolor/SIZE/apps/im.chinwag.Chinwag.png (rendered from resources/icons/chinwag.svg
# with rsvg-convert, else Qt) and icons/hicolor/scalable/apps/im.chinwag.Chinwag.svg.
# --uninstall removes those, the launchers, the venv and the "start on login" entry
# (~/.config/autostart/im.chinwag.Chinwag.desktop); history, passwords and settings stay.
#
# Environment: CHINWAG_VENV installs into another folder; CHINWAG_SKIP_SYSTEM_PACKAGES=1
# neither checks nor installs Debian packages; CHINWAG_NO_START=1 installs only;
# CHINWAG_COMMAND is the command the menu entry and the D-Bus service run (default: the
# launcher ~/.local/bin/chinwag; words quoted as in a desktop file's Exec);
# CHINWAG_PYTHON is a Python with PySide6 to render the icons when rsvg-convert is missing
# (default: the venv's). pip's own PIP_* variables apply (PIP_INDEX_URL, PIP_FIND_LINKS, ...).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"

data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
config_home="${XDG_CONFIG_HOME:-$HOME/.config}"
profile_dirs=("$data_home/chinwag" "$config_home/chinwag"
  "${XDG_STATE_HOME:-$HOME/.local/state}/chinwag")
venv="${CHINWAG_VENV:-$data_home/chinwag-venv}"
bin_dir="$HOME/.local/bin"
old_venv="$data_home/chinwag/venv" # where versions before this one put it

app_id="im.chinwag.Chinwag"
apps_dir="$data_home/applications"
metainfo_dir="$data_home/metainfo"
services_dir="$data_home/dbus-1/services"
icons_dir="$data_home/icons/hicolor"
icon_sizes=(16 22 24 32 48 64 128 256)
autostart_file="$config_home/autostart/$app_id.desktop"
launchers=(chinwag chinwag-remote)

case "$venv/" in
  "$data_home/chinwag/"*)
    echo "CHINWAG_VENV=$venv is inside $data_home/chinwag, which must stay private" >&2
    exit 2
    ;;
esac

# Every file the desktop integration puts in place (what --uninstall removes).
desktop_files() {
  printf '%s\n' "$apps_dir/$app_id.desktop" "$metainfo_dir/$app_id.metainfo.xml" \
    "$services_dir/$app_id.service" "$icons_dir/scalable/apps/$app_id.svg"
  local size
  for size in "${icon_sizes[@]}"; do
    printf '%s\n' "$icons_dir/${size}x${size}/apps/$app_id.png"
  done
}

mode=install
case "${1:-}" in
  --print-paths)
    printf 'venv=%s\nbin=%s\ndata=%s\nold_venv=%s\n' "$venv" "$bin_dir" "$data_home/chinwag" \
      "$old_venv"
    printf 'applications=%s\nmetainfo=%s\nservices=%s\nicons=%s\nautostart=%s\n' \
      "$apps_dir" "$metainfo_dir" "$services_dir" "$icons_dir" "$autostart_file"
    exit 0
    ;;
  --files-only | --uninstall)
    mode="${1#--}"
    shift
    ;;
esac

# An Exec word as the Desktop Entry spec (and D-Bus's service files) read it: in double
# quotes when it has a space or another reserved character. The characters that would
# need escapes inside the quotes, which the two formats read differently, are refused.
exec_quote() {
  case "$1" in
    *[\"\`\$\\]*)
      echo "Cannot install for a path with \", \`, \$ or \\ in it: $1" >&2
      exit 2
      ;;
    *[[:space:]\'\>\<~\|\&\;\*\?\#\(\)]*) printf '"%s"' "$1" ;;
    *) printf '%s' "$1" ;;
  esac
}

# Copies template $1 to $2, its Exec= (and TryExec=) lines set for the installed command.
# $3 is appended to Exec (e.g. --background).
install_with_exec() {
  local template="$1" target="$2" extra="${3:-}" line tmp
  tmp="$(mktemp "$target.XXXXXX")"
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      Exec=*) line="Exec=$command${extra:+ $extra}" ;;
      TryExec=*) line="TryExec=$try_exec" ;;
    esac
    printf '%s\n' "$line"
  done <"$template" >"$tmp"
  chmod 0644 "$tmp"
  mv -f -- "$tmp" "$target"
}

render_icons() {
  local svg="$src/resources/icons/chinwag.svg" size out tmp python
  python="${CHINWAG_PYTHON:-$venv/bin/python}"
  # --files-only after `pipx install .`: the Python of the launcher, from its #! line
  if [ -z "${CHINWAG_PYTHON:-}" ] && [ ! -x "$python" ] && [ -f "$try_exec" ] &&
    [ "$(head -c 2 -- "$try_exec")" = "#!" ]; then
    python="$(head -n 1 -- "$try_exec")"
    python="${python#\#!}"
    python="${python%% *}"
  fi
  tmp="$(mktemp -d)"
  if command -v rsvg-convert >/dev/null; then
    for size in "${icon_sizes[@]}"; do
      rsvg-convert -w "$size" -h "$size" -a -o "$tmp/${size}x${size}.png" "$svg"
    done
  elif ! { [ -x "$python" ] &&
    "$python" "$src/packaging/render_icons.py" "$svg" "$tmp" "${icon_sizes[@]}"; }; then
    echo "No rsvg-convert and no Python with Qt (${python:-none}): only the scalable icon" \
      "is installed (apt-get install librsvg2-bin for the others)." >&2
  fi
  for size in "${icon_sizes[@]}"; do
    out="$icons_dir/${size}x${size}/apps"
    if [ -f "$tmp/${size}x${size}.png" ]; then
      mkdir -p "$out"
      install -m 0644 "$tmp/${size}x${size}.png" "$out/$app_id.png"
    fi
  done
  rm -rf -- "$tmp"
}

# The desktop's caches: refreshed when their tools are there. After --uninstall a cache
# that lists nothing (no MIME type, no icon left) goes, and so do the folders left empty.
refresh_caches() {
  if command -v update-desktop-database >/dev/null && [ -d "$apps_dir" ]; then
    update-desktop-database -q "$apps_dir" || true
  fi
  if [ -d "$icons_dir" ]; then
    touch "$icons_dir" # GTK and Qt notice a changed theme folder by its time
    if command -v gtk-update-icon-cache >/dev/null; then
      gtk-update-icon-cache -q -f -t "$icons_dir" 2>/dev/null || true
    fi
  fi
}

remove_leftover_caches() {
  # (a MIME cache that lists no type tells nobody anything)
  if [ -f "$apps_dir/mimeinfo.cache" ] &&
    [ "$(cat "$apps_dir/mimeinfo.cache")" = "[MIME Cache]" ]; then
    rm -f -- "$apps_dir/mimeinfo.cache"
  fi
  if [ -f "$icons_dir/icon-theme.cache" ] &&
    [ -z "$(find "$icons_dir" -type f ! -name icon-theme.cache -print -quit)" ]; then
    rm -f -- "$icons_dir/icon-theme.cache"
  fi
}

# Removes $1 and the folders above it that it leaves empty, up to (not including) $2.
remove_up_to() {
  local path="$1" stop="$2"
  rm -f -- "$path"
  path="$(dirname -- "$path")"
  while [ "$path" != "$stop" ] && [ "${path#"$stop"/}" != "$path" ] && [ -d "$path" ]; do
    rmdir -- "$path" 2>/dev/null || break
    path="$(dirname -- "$path")"
  done
}

install_desktop_files() {
  command="${CHINWAG_COMMAND:-$(exec_quote "$bin_dir/chinwag")}"
  case "$command" in # TryExec: the program, its first word (the menu hides us without it)
    \"*) try_exec="${command#\"}" && try_exec="${try_exec%%\"*}" ;;
    *) try_exec="${command%% *}" ;;
  esac
  mkdir -p "$apps_dir" "$metainfo_dir" "$services_dir" "$icons_dir/scalable/apps"
  install_with_exec "$src/packaging/$app_id.desktop" "$apps_dir/$app_id.desktop"
  install_with_exec "$src/packaging/$app_id.service" "$services_dir/$app_id.service" \
    --background
  install -m 0644 "$src/packaging/$app_id.metainfo.xml" "$metainfo_dir/$app_id.metainfo.xml"
  install -m 0644 "$src/resources/icons/chinwag.svg" "$icons_dir/scalable/apps/$app_id.svg"
  render_icons
  refresh_caches
  echo "In the menu: $apps_dir/$app_id.desktop"
}

path_hint() {
  case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *)
      echo "Note: $bin_dir is not on your PATH, so typing chinwag or chinwag-remote in a"
      echo "terminal will not find them (the menu entry works anyway). Add it, e.g. with"
      echo "  echo 'export PATH=\"\$HOME/.local/bin:\$PATH\"' >> ~/.profile"
      echo "and log in again."
      ;;
  esac
}

if [ "$mode" = uninstall ]; then
  while IFS= read -r file; do
    remove_up_to "$file" "$data_home"
  done < <(desktop_files)
  remove_up_to "$autostart_file" "$config_home"
  for name in "${launchers[@]}"; do
    # Only our own launchers: links into the venv (or left dangling by a removed one).
    if [ -L "$bin_dir/$name" ]; then
      case "$(readlink -- "$bin_dir/$name")" in
        "$venv/bin/$name" | "$old_venv/bin/$name") rm -f -- "$bin_dir/$name" ;;
      esac
    fi
  done
  if [ -f "$venv/pyvenv.cfg" ]; then
    rm -rf -- "$venv"
  fi
  refresh_caches
  remove_leftover_caches
  for dir in "$apps_dir" "$icons_dir"; do
    while [ -d "$dir" ] && [ "$dir" != "$data_home" ] && rmdir -- "$dir" 2>/dev/null; do
      dir="$(dirname -- "$dir")"
    done
  done
  echo "Chinwag is uninstalled. Your history, passwords and settings are still in"
  printf '  %s\n' "${profile_dirs[@]}"
  echo "(remove those folders yourself to forget them too)."
  exit 0
fi

if [ "$mode" = files-only ]; then
  install_desktop_files
  path_hint
  exit 0
fi

if [ -z "${CHINWAG_SKIP_SYSTEM_PACKAGES:-}" ]; then
  DEBIAN_PACKAGES=(python3 python3-venv libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0
    libfontconfig1 libglib2.0-0 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
    gnome-keyring
    libenchant-2-2 hunspell-en-us fonts-noto-color-emoji)  # spell check, colour emoji
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
for name in "${launchers[@]}"; do
  ln -sfn "$venv/bin/$name" "$bin_dir/$name"
done

# The launchers point at the new venv now: the old one can go. Only a venv is removed.
if [ "$old_venv" != "$venv" ] && [ -f "$old_venv/pyvenv.cfg" ]; then
  rm -rf -- "$old_venv"
  echo "Removed the previous installation in $old_venv (Chinwag now lives in $venv)."
fi
# History, passwords, settings and logs: readable by you alone (Chinwag keeps them so).
for dir in "${profile_dirs[@]}"; do
  if [ -d "$dir" ]; then chmod go-rwx "$dir"; fi
done

install_desktop_files
echo "Installed: $bin_dir/chinwag"
path_hint
if [ -n "${CHINWAG_NO_START:-}" ]; then
  exit 0
fi
exec "$venv/bin/chinwag" "$@"
