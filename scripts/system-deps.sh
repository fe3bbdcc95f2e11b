#!/usr/bin/env bash
# Make sure the system programs a command needs are installed.
#   scripts/system-deps.sh run    nothing: the app's ffmpeg comes from the imageio-ffmpeg wheel
#   scripts/system-deps.sh test   ffmpeg (to make test files), espeak-ng, sox, Redis,
#                                 PostgreSQL and Chromium for the suite
# Installs what is missing with apt-get when it can (root, or sudo without a password);
# otherwise says exactly what to install and stops.
set -euo pipefail

mode=${1:-run}
declare -A need=()
if [ "$mode" = test ]; then
  need=([ffmpeg]=ffmpeg [espeak-ng]=espeak-ng [sox]=sox [redis-server]=redis-server
        [chromium]=chromium [pg_ctlcluster]=postgresql [psql]=postgresql-client)
fi

missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')

if [ "$(id -u)" -eq 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  apt=(sudo apt-get)
else
  echo "Missing system packages: $packages" >&2
  echo "Install them with:  sudo apt-get install -y $packages" >&2
  exit 1
fi
echo "Installing system packages: $packages"
"${apt[@]}" update -qq
DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends $packages >/dev/null
