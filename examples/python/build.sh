#!/usr/bin/env bash
# Builds the `usdt-recharge` wheel (the component inside, wasmtime from PyPI as its only
# dependency) with pip and the hatchling build backend, into $USDT_DIST (default
# <repo>/dist/). Needs the built component (cargo build -p usdt-recharge-component, or
# $USDT_RECHARGE_COMPONENT) and python3 with venv. Prints the wheel's path last.
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../.. && pwd)"

component="${USDT_RECHARGE_COMPONENT:-$root/target/component/usdt_recharge.wasm}"
if [ ! -f "$component" ]; then
    echo "missing $component: run 'cargo build -p usdt-recharge-component' first" >&2
    exit 1
fi
dist="${USDT_DIST:-$root/dist}"

# The component goes into the package folder (ignored by git), where hatchling picks it up.
cp "$component" src/usdt_recharge/usdt_recharge.wasm

# pip in a throwaway venv (a system python3 may have no pip); pip fetches the pinned
# build backend (pyproject.toml's [build-system]) into its own isolated environment.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"${PYTHON:-python3}" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip wheel --disable-pip-version-check --quiet --no-deps \
    --wheel-dir "$tmp/out" .

mkdir -p "$dist"
rm -f "$dist"/usdt_recharge-*.whl
mv "$tmp"/out/usdt_recharge-*.whl "$dist/"
ls "$dist"/usdt_recharge-*.whl
