#!/usr/bin/env bash
# Node example suite: every shared vector through the jco-transpiled component, the
# wrapper's range checks, and receiver.mjs end to end. Needs only the built component
# (cargo build -p usdt-recharge-component), Node >= 20 and npm.
set -euo pipefail
cd "$(dirname "$0")"

npm ci --no-audit --no-fund
npm run build
node --test test/*.test.mjs
