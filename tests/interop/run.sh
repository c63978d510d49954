#!/usr/bin/env bash
# Runs flow.mjs (openid-client) against a freshly started `hk-idp serve` on the
# embedded default. Usage: tests/interop/run.sh PATH/TO/hk-idp
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$here"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export IDP_LISTEN="127.0.0.1:$port" IDP_ISSUER="http://127.0.0.1:$port" IDP_DATABASE_URL="sqlite://$work/idp.sqlite?mode=rwc" RUST_LOG=warn
email="interop.$(date +%s)@hk.no"
password="interop passord som er langt nok"
client=$("$bin" client create --name Interop --first-party --redirect-uri https://rp.example/cb --post-logout-redirect-uri https://rp.example/logged-out --json)
echo "$password" | "$bin" user add --email "$email" --password-stdin --json >/dev/null
"$bin" serve &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
CLIENT_ID=$(echo "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])') \
CLIENT_SECRET=$(echo "$client" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])') \
ISSUER="http://127.0.0.1:$port" EMAIL="$email" PASSWORD="$password" node flow.mjs
