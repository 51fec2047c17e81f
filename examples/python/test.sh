#!/usr/bin/env bash
# Python example suite, run as a merchant would: build the `usdt-recharge` wheel
# (./build.sh; or test the wheel at $USDT_RECHARGE_WHEEL), install it into a fresh venv
# (.venv, recreated on every run) with pip, and run every shared vector through it, the
# binding's range checks, receiver.py and gateway_validate.py end to end. Needs the
# built component (cargo build -p usdt-recharge-component) and python3 with venv + pip.
set -euo pipefail
cd "$(dirname "$0")"

wheel="${USDT_RECHARGE_WHEEL:-$(./build.sh | tail -n 1)}"

rm -rf .venv
"${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install --disable-pip-version-check --quiet \
    -r requirements.txt -r requirements-test.txt "$wheel"

exec .venv/bin/python -m pytest "$@"
