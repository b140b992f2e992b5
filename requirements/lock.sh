#!/usr/bin/env bash
# Regenerate requirements/lock.txt (the hashes of every file of each pinned version) from lock.in.
# After changing a version: install it into .venv, run ./tankard test, then
#   .venv/bin/pip freeze --exclude-editable   (into lock.in, keeping its header)   and   requirements/lock.sh
# uv is used only here, to look the hashes up on PyPI; it never installs anything for the game.
set -euo pipefail
cd "$(dirname "$0")"
UV="${UV:-uv}"
command -v "$UV" >/dev/null || { echo "requirements/lock.sh needs uv (pip install uv)" >&2; exit 2; }
"$UV" pip compile --no-deps --generate-hashes --no-header --no-annotate --python-version 3.11 lock.in -o lock.txt
