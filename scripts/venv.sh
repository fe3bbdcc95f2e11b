#!/usr/bin/env bash
# Create .venv and install the project into it, once per change of pyproject.toml.
#   scripts/venv.sh          runtime dependencies
#   scripts/venv.sh test     + the test tools
set -euo pipefail

extra=${1:-}
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
  if ! "$python" -m venv .venv 2>/dev/null; then
    # Debian's own Python ships venv support as a separate package.
    rm -rf .venv
    package="python3-venv"
    if [ "$(id -u)" -eq 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
    else
      echo "Python cannot create a virtualenv. Install it with:  sudo apt-get install -y $package" >&2
      exit 1
    fi
    "$python" -m venv .venv
  fi
fi
stamp=".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)${extra:+-$extra}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  if [ -n "$extra" ]; then
    .venv/bin/python -m pip install -q -e ".[$extra]"
  else
    .venv/bin/python -m pip install -q -e .
  fi
  touch "$stamp"
fi
