#!/usr/bin/env bash
# Creates (once) the project-local Python environment used only by offline generator scripts,
# e.g. scripts/golden-metrics.py. CI and the test suite never run Python: they read the files
# those scripts wrote and committed. Prints the venv's python path on success.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import sklearn, numpy' 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet scikit-learn numpy >&2
fi
echo "$venv/bin/python"
