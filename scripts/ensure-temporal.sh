#!/usr/bin/env bash
# Finds a `temporal` CLI or builds the pinned one into .tools/bin, and prints its path.
# Order: $TEMPORAL_CLI, the project's tools folder, PATH, then `go install` of the pinned tag.
# Used by README, .ci/run and the test setup, so all three run the same server.
set -euo pipefail
PINNED_VERSION="${TEMPORAL_CLI_VERSION:-v1.5.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools/bin"

if [ -n "${TEMPORAL_CLI:-}" ]; then
  if [ -x "$TEMPORAL_CLI" ]; then echo "$TEMPORAL_CLI"; exit 0; fi
  echo "sluice: TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file. Unset it or point it at a temporal binary." >&2
  exit 1
fi
if [ -x "$tools/temporal" ]; then echo "$tools/temporal"; exit 0; fi
if command -v temporal >/dev/null 2>&1; then command -v temporal; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  cat >&2 <<MSG
sluice: no 'temporal' CLI found and no 'go' toolchain to build one.
  Install Go (https://go.dev/dl, 1.22 or newer) and run this again, or
  set TEMPORAL_CLI=/path/to/temporal, or set TEMPORAL_ADDRESS to use an existing server.
MSG
  exit 1
fi

mkdir -p "$tools"
echo "sluice: building temporal CLI $PINNED_VERSION with go install (first run only, a few minutes)..." >&2
if ! GOBIN="$tools" GOFLAGS="${GOFLAGS:-} -trimpath" go install "github.com/temporalio/cli/cmd/temporal@$PINNED_VERSION" >&2; then
  echo "sluice: 'go install github.com/temporalio/cli/cmd/temporal@$PINNED_VERSION' failed (see above)." >&2
  exit 1
fi
echo "$tools/temporal"
