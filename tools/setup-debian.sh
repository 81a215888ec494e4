#!/usr/bin/env bash
# Installs what zpviz needs from Debian 12 that pip cannot bring: python3-venv and the
# shared libraries Qt loads. As root it installs them; otherwise it names them exactly.
# Usage: tools/setup-debian.sh run|test
set -euo pipefail
want=(python3-venv libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 fonts-dejavu-core)
if [ "${1:-run}" = run ]; then
  # The xcb platform plugin (a real window). Qt's own error blames libxcb-cursor0 even when
  # icccm4/keysyms1 are what is missing, so we ask for the whole set.
  want+=(libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
         libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1)
fi
command -v dpkg-query >/dev/null || exit 0   # not Debian: nothing to check here
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "zpviz: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "zpviz: these Debian packages are missing; as root run:" >&2
  echo "  apt-get install ${missing[*]}" >&2
  exit 1
fi
