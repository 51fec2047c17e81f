#!/usr/bin/env bash
# Browser suite: the checkout page and the operator console in Debian's chromium
# (`apt-get install chromium`; Playwright's own browser download is not used), driven by
# playwright-core from npm against the real gateway binary. SCREENSHOT_DIR=DIR also
# writes screenshots of both pages at desktop and mobile width (scripts/screenshots).
set -euo pipefail
cd "$(dirname "$0")"

chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || { echo "no browser at $chromium: apt-get install -y chromium (or set CHROMIUM)" >&2; exit 1; }

# The gateway binary as the workspace's tests build it (same features: nothing is
# recompiled after scripts/test's `cargo test --workspace`).
(cd ../.. && cargo test --locked --workspace --no-run)
npm ci --no-audit --no-fund
node --test --test-concurrency=1 pages.test.mjs
