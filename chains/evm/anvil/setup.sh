#!/usr/bin/env bash
# Installs the pinned anvil and solc from package-lock.json (`npm ci`, skipped when
# node_modules already matches the lock file) and compiles TetherToken.sol with solc-js
# (compile.cjs, the solcjs compiler as a library, so the EVM version can be pinned) to
# build/TetherToken.bin (+ build/TetherToken.abi). Idempotent; offline once installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

stamp=node_modules/.usdt-setup-stamp
want=$(node -e 'const c=require("crypto"),f=require("fs");console.log(c.createHash("sha256").update(f.readFileSync("package-lock.json")).digest("hex"))')
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x node_modules/.bin/solcjs ]]; then
    echo "setup.sh: node_modules is current"
else
    echo "setup.sh: npm ci"
    npm ci --no-audit --no-fund
    echo "$want" > "$stamp"
fi

if [[ build/TetherToken.bin -nt TetherToken.sol && build/TetherToken.bin -nt compile.cjs \
      && build/TetherToken.bin -nt "$stamp" ]]; then
    echo "setup.sh: build/TetherToken.bin is current"
else
    echo "setup.sh: compiling TetherToken.sol with solc-js"
    node compile.cjs
fi
echo "setup.sh: done, build/TetherToken.bin has $(wc -c < build/TetherToken.bin) hex digits"
