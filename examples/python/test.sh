#!/usr/bin/env bash
# Python example suite: every shared vector through the component, the wrapper's range
# checks, and receiver.py end to end. Needs only the built component
# (cargo build -p usdt-recharge-component) and python3 with venv + pip.
set -euo pipefail
cd "$(dirname "$0")"

component="${USDT_RECHARGE_COMPONENT:-../../target/component/usdt_recharge.wasm}"
if [ ! -f "$component" ]; then
    echo "missing $component: run 'cargo build -p usdt-recharge-component' first" >&2
    exit 1
fi

python="${PYTHON:-python3}"
if ! .venv/bin/python -c '' 2>/dev/null; then
    rm -rf .venv
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --disable-pip-version-check --quiet \
    -r requirements.txt -r requirements-test.txt

exec .venv/bin/python -m pytest "$@"
