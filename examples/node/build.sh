#!/usr/bin/env bash
# Builds the `usdt-recharge` npm package: installs the pinned build tools (npm ci: jco,
# typescript), transpiles the component with jco into package/gen/ (build.mjs), and packs
# package/ with `npm pack` into $USDT_DIST (default <repo>/dist/). Needs the built
# component (cargo build -p usdt-recharge-component, or $USDT_RECHARGE_COMPONENT),
# Node >= 20 and npm. Prints the .tgz's path last.
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../.. && pwd)"
dist="${USDT_DIST:-$root/dist}"

npm ci --no-audit --no-fund --loglevel=error
node build.mjs
mkdir -p "$dist"
rm -f "$dist"/usdt-recharge-*.tgz
tgz="$(npm pack ./package --pack-destination "$dist" --loglevel=error | tail -n 1)"
echo "$dist/$tgz"
