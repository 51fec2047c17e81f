#!/usr/bin/env bash
# Contract test: start the real gateway (dev mode, SQLite in a temporary folder, a test
# merchant, the admin API on), fetch GET /openapi.json, validate it as OpenAPI 3.1 with
# openapi-spec-validator, then let schemathesis attack every documented operation from
# the document: no input may give a 5xx, every answer's status must be documented and
# its body and headers must match the document (hooks.py signs bodies with the test
# merchant's secret so the accepting paths run too). Tools pinned in requirements.txt,
# installed into a fresh venv (.venv). CONTRACT_MAX_EXAMPLES sets the examples per
# operation (default 100).
set -euo pipefail
cd "$(dirname "$0")"

# The gateway binary as the workspace's tests build it (same features: nothing is
# recompiled after scripts/test's `cargo test --workspace`).
(cd ../.. && cargo test --locked --workspace --no-run)
bin="${CARGO_TARGET_DIR:-$(cd ../.. && pwd)/target}/debug/usdt-gateway"

rm -rf .venv .schemathesis
"${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install --disable-pip-version-check --quiet -r requirements.txt

work=$(mktemp -d)
gateway_pid=
cleanup() {
  [ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

export CONTRACT_APPID=contract
export CONTRACT_STATUSES="$work/statuses"
CONTRACT_SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CONTRACT_SECRET
admin_token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat >"$work/gateway.toml" <<TOML
listen = "127.0.0.1:0"
data_dir = "$work/data"
[log]
level = "warn"
[dev]
enabled = true
poll_interval = "200ms"
[admin]
token = "$admin_token"
[[merchants]]
appid = "$CONTRACT_APPID"
secret = "$CONTRACT_SECRET"
TOML

"$bin" serve --config "$work/gateway.toml" >"$work/stdout" 2>"$work/stderr" &
gateway_pid=$!
base=
for _ in $(seq 1 300); do
  base=$(sed -n 's/^usdt-gateway listening on \(http:[^ ]*\).*/\1/p' "$work/stdout")
  [ -n "$base" ] && break
  kill -0 "$gateway_pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "the gateway did not start" >&2; cat "$work/stderr" >&2; exit 1; }
echo "gateway at $base"

.venv/bin/python - "$base/openapi.json" <<'PY'
import json, sys, urllib.request
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator
with urllib.request.urlopen(sys.argv[1]) as response:
    doc = json.load(response)
assert doc["openapi"].startswith("3.1."), doc["openapi"]
validate(doc, cls=OpenAPIV31SpecValidator)
print(f"openapi.json: valid OpenAPI {doc['openapi']}, {len(doc['paths'])} paths")
PY

# Checks: see docs/testing.md ("The API contract") for the one left out and why.
SCHEMATHESIS_HOOKS=hooks PYTHONPATH=. .venv/bin/schemathesis run "$base/openapi.json" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --header "Authorization: Bearer $admin_token" \
  --max-examples "${CONTRACT_MAX_EXAMPLES:-100}" \
  --phases examples,coverage,fuzzing \
  --seed "${CONTRACT_SEED:-20250905}" \
  --workers 1 \
  --request-timeout 20 \
  --no-color \
  --report junit --report-dir "$work/report"

# The signing hooks reached the accepting paths: orders created and found again.
for reached in "POST /api/merchant/v2/TraderRechargeorder 200" \
  "POST /api/merchant/v2/TraderRechargeorderQuery 200" \
  "POST /api/merchant/v2/TraderRechargeorder 401" \
  "POST /dev/chains/{chain}/transfers 200"; do
  grep -qxF "$reached" "$CONTRACT_STATUSES" || { echo "never answered: $reached" >&2; exit 1; }
done
grep -v " 405$" "$CONTRACT_STATUSES" | sort | uniq -c

# No 5xx may have been logged as a fault either.
if grep -E '"level":"ERROR"|ERROR' "$work/stderr"; then
  echo "the gateway logged errors during the contract test" >&2
  exit 1
fi
echo "contract test: passed"
