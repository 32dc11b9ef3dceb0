#!/usr/bin/env bash
# Finds a `wrk` HTTP load generator or unpacks Debian's into .tools/wrk, and prints its path.
# Order: $WRK, the project's tools folder, PATH, then `apt-get download` of wrk and its LuaJIT
# library, extracted with `dpkg -x` (no root needed) behind a wrapper that sets LD_LIBRARY_PATH.
# Used by the benchmarks (bench/support/load.ts), which fall back to autocannon when this fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="$root/.tools/wrk"
wrapper="$base/bin/wrk"

if [ -n "${WRK:-}" ]; then
  if [ -x "$WRK" ]; then echo "$WRK"; exit 0; fi
  echo "sluice: WRK=$WRK is not an executable file. Unset it or point it at a wrk binary." >&2
  exit 1
fi
if [ -x "$wrapper" ] && [ -x "$base/root/usr/bin/wrk" ]; then echo "$wrapper"; exit 0; fi
if command -v wrk >/dev/null 2>&1; then command -v wrk; exit 0; fi

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
  cat >&2 <<MSG
sluice: no 'wrk' found, and no apt-get/dpkg to fetch Debian's package.
  Install wrk (https://github.com/wg/wrk) and put it on PATH, or set WRK=/path/to/wrk.
  The benchmarks fall back to autocannon, which takes about three times the CPU per request.
MSG
  exit 1
fi

# Staged inside .tools (one filesystem with its destination), then moved into place whole, so an
# interrupted run never leaves a half-unpacked wrk behind a working-looking wrapper.
mkdir -p "$root/.tools"
tmp="$(mktemp -d "$root/.tools/.wrk-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "sluice: fetching wrk with apt-get download into .tools/wrk (first run only)..." >&2
# wrk depends on either LuaJIT build (Debian: libluajit2-5.1-2 or libluajit-5.1-2).
if ! (cd "$tmp" && { apt-get download wrk libluajit2-5.1-2 >&2 || apt-get download wrk libluajit-5.1-2 >&2; }); then
  cat >&2 <<MSG
sluice: 'apt-get download wrk libluajit2-5.1-2' failed (see above; 'apt-get update' may help).
  Install wrk and put it on PATH, or set WRK=/path/to/wrk.
MSG
  exit 1
fi
stage="$tmp/wrk"
mkdir -p "$stage/root" "$stage/bin"
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$stage/root"; done
if [ ! -x "$stage/root/usr/bin/wrk" ]; then
  echo "sluice: the downloaded packages hold no usr/bin/wrk." >&2
  exit 1
fi
lib="$(find "$stage/root" -name 'libluajit*.so*' -print -quit)"
if [ -z "$lib" ]; then
  echo "sluice: the downloaded packages hold no LuaJIT library." >&2
  exit 1
fi
libdir="${lib%/*}"
libdir="${libdir#"$stage/"}" # relative to the wrk folder, wherever it ends up
cat >"$stage/bin/wrk" <<SH
#!/bin/sh
# Runs the wrk unpacked by scripts/ensure-wrk.sh with its bundled LuaJIT.
here="\$(cd "\$(dirname "\$0")/.." && pwd)"
LD_LIBRARY_PATH="\$here/$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "\$here/root/usr/bin/wrk" "\$@"
SH
chmod +x "$stage/bin/wrk"
version="$("$stage/bin/wrk" --version 2>&1 || true)" # wrk --version exits 1
if [[ "$version" != wrk\ * ]]; then
  printf 'sluice: the unpacked wrk does not run:\n%s\n' "$version" >&2
  exit 1
fi
# Another first run may have finished meanwhile: keep its copy.
if [ -x "$wrapper" ] && [ -x "$base/root/usr/bin/wrk" ]; then echo "$wrapper"; exit 0; fi
rm -rf "$base"
mv -T "$stage" "$base"
echo "$wrapper"
