#!/usr/bin/env bash
# SkyPilot in a venv of its own, .venv-sky/ (it pins click<8.2, older than chatlike's .venv has):
#   bash launch/install_skypilot.sh aws,gcp      # the clouds you use (SkyPilot's extras); none = core only
#   .venv-sky/bin/sky check
# The tests run it too (no extras; a second run returns at once) to check RUN/sky.yaml with
# SkyPilot's own task schema.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VERSION=0.14.1
EXTRAS=${1:-}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
installed() { .venv-sky/bin/python -c "import importlib.metadata as m; print(m.version('skypilot'))" 2>/dev/null; }
if [ -z "$EXTRAS" ] && [ "$(installed)" = "$VERSION" ]; then
  exit 0
fi
[ -x .venv-sky/bin/python ] || "$PY" -m venv .venv-sky
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv-sky/bin/pip install -q "skypilot${EXTRAS:+[$EXTRAS]}==$VERSION" 2>&1 | { grep -v "^WARNING: Location" || true; }
echo "skypilot $(installed) in .venv-sky/ (run it as .venv-sky/bin/sky)"
