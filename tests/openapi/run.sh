#!/usr/bin/env bash
# Checks the live admin API against its OpenAPI document with schemathesis (a
# schema-driven fuzzer): no 5xx, only documented status codes and content
# types, every response valid against its schema. Runs `hk-idp serve` on the
# embedded default and, when TEST_DATABASE_URL/TEST_REDIS_URL are set, on
# PostgreSQL + Redis. Usage: tests/openapi/run.sh PATH/TO/hk-idp
set -euo pipefail
bin=$(realpath "$1")
work=$(mktemp -d)
venv="${SCHEMATHESIS_VENV:-$PWD/target/schemathesis-venv}"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${pgdb:-}" ]; then psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==4.32.5"
fi
token="schemathesis-admin-token-$(date +%s%N)"

check() { # name, database URL, Redis URL
  local port pid
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  IDP_LISTEN="127.0.0.1:$port" IDP_ISSUER="http://127.0.0.1:$port" IDP_DATABASE_URL="$2" IDP_REDIS_URL="$3" \
    IDP_REDIS__KEY_PREFIX="schemathesis:$(date +%s%N):" IDP_ADMIN_TOKEN="$token" \
    IDP_MAIL__OUTBOX_DIR="$work/outbox-$1" RUST_LOG=warn "$bin" serve >"$work/server-$1.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  echo "schemathesis against hk-idp serve on $1"
  "$venv/bin/schemathesis" run "http://127.0.0.1:$port/admin/openapi.json" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples 100 --seed 20261201 --no-color \
    || { echo "server log:"; cat "$work/server-$1.log"; return 1; }
  kill "$pid"
}

check sqlite "sqlite://$work/idp.sqlite?mode=rwc" ""
if [ -n "${TEST_DATABASE_URL:-}" ] && [ -n "${TEST_REDIS_URL:-}" ]; then
  pgdb="hkid_schemathesis_$(date +%s)"
  psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE $pgdb" >/dev/null
  check postgres-redis "${TEST_DATABASE_URL%/*}/$pgdb" "$TEST_REDIS_URL"
elif [ "${CI:-}" = true ]; then
  echo "CI=true but TEST_DATABASE_URL or TEST_REDIS_URL is not set" >&2
  exit 1
fi
