#!/usr/bin/env bash
# Installs the pinned anvil and solc from package-lock.json (`npm ci`, skipped when
# node_modules already matches the lock file) and compiles TetherToken.sol with solcjs to
# build/TetherToken.bin (+ build/TetherToken.abi). Idempotent; offline once installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

stamp=node_modules/.usdt-setup-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x node_modules/.bin/solcjs ]]; then
    echo "setup.sh: node_modules is current"
else
    echo "setup.sh: npm ci"
    npm ci --no-audit --no-fund
    echo "$want" > "$stamp"
fi

mkdir -p build
if [[ build/TetherToken.bin -nt TetherToken.sol && build/TetherToken.bin -nt "$stamp" ]]; then
    echo "setup.sh: build/TetherToken.bin is current"
else
    echo "setup.sh: solcjs TetherToken.sol"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    node_modules/.bin/solcjs --bin --abi --optimize -o "$tmp" TetherToken.sol
    # solcjs names its outputs <file>_<contract>.{bin,abi}.
    mv "$tmp/TetherToken_sol_TetherToken.bin" build/TetherToken.bin
    mv "$tmp/TetherToken_sol_TetherToken.abi" build/TetherToken.abi
fi
echo "setup.sh: done, build/TetherToken.bin has $(wc -c < build/TetherToken.bin) hex digits"
