#!/usr/bin/env bash
# Everything a fresh machine needs before Sluice runs: npm packages (from the lockfile) and the
# pinned Temporal CLI (built once into .tools/bin, reused afterwards). Used by README and .ci/run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v node >/dev/null 2>&1; then
  echo "sluice: Node.js 20.3 or newer is required (https://nodejs.org)." >&2; exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/ensure-temporal.sh >/dev/null
