#!/usr/bin/env bash
# Node example suite, run as a merchant would: build the `usdt-recharge` npm package
# (./build.sh; or test the .tgz at $USDT_RECHARGE_TGZ), install it with npm into a fresh
# temporary folder, copy the tests, receiver.mjs and bench.mjs there, and run every
# shared vector through the installed package, its typings (tsc), the wrapper's range
# checks, and receiver.mjs end to end. Needs the built component
# (cargo build -p usdt-recharge-component), Node >= 20 and npm. Arguments: test files
# to run instead of all (test/NAME.test.mjs).
set -euo pipefail
cd "$(dirname "$0")"
here="$(pwd)"
root="$(cd ../.. && pwd)"

if [ -n "${USDT_RECHARGE_TGZ:-}" ]; then
    tgz="$USDT_RECHARGE_TGZ"
    npm ci --no-audit --no-fund --loglevel=error  # tsc for the typings test
else
    tgz="$(./build.sh | tail -n 1)"
fi

merchant="$(mktemp -d)"
trap 'rm -rf "$merchant"' EXIT
cp -r test receiver.mjs bench.mjs "$merchant/"
(
    cd "$merchant"
    echo '{ "name": "merchant", "private": true, "type": "module" }' > package.json
    npm install --no-audit --no-fund --loglevel=error "$tgz"
)

cd "$merchant"
if [ $# -eq 0 ]; then set -- test/*.test.mjs; fi
USDT_RECHARGE_VECTORS="${USDT_RECHARGE_VECTORS:-$root/tests/vectors/}" \
USDT_GATEWAY_BIN="${USDT_GATEWAY_BIN:-$root/target/debug/usdt-gateway}" \
USDT_TSC="$here/node_modules/typescript/bin/tsc" \
    node --test "$@"
