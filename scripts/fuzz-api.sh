#!/usr/bin/env bash
# Schema-driven fuzz of the server API: schemathesis (PyPI) reads /openapi.json from a running
# server and sends generated requests to every operation; the run fails on any 5xx response.
#
#   scripts/fuzz-api.sh [EXAMPLES]     (default 25 examples per operation; fixed seed)
#
# Builds the debug binary if needed, starts it on a free port with a throwaway data directory,
# signs in a user (so that authenticated operations are reached) and stops it afterwards.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
EXAMPLES=${1:-25}
SCHEMATHESIS_VERSION=4.32.5
VENV="$TARGET/fuzz-venv"

cd "$ROOT"
if [ ! -x "$VENV/bin/st" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
# test.sh passes the binary its test run already built (same features, no second build).
BIN=${STRONGROOM_FUZZ_BIN:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  cargo build -q -p strongroom --locked
  BIN="$TARGET/debug/strongroom"
fi

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# A clean environment: the server refuses STRONGROOM_* variables it does not know (typos), and
# the test run sets several for other suites.
env -i PATH="$PATH" HOME="$HOME" \
  STRONGROOM_DATA_DIR="$WORK/data" STRONGROOM_LISTEN="127.0.0.1:$PORT" STRONGROOM_LOG_LEVEL=warn \
  STRONGROOM_HTTP_RATE_LIMIT_PER_IP=1000000 STRONGROOM_HTTP_RATE_LIMIT_PER_USER=1000000 \
  "$BIN" serve >"$WORK/stdout" 2>"$WORK/server.log" &
PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
  curl -sf "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "$BASE/healthz" >/dev/null || { cat "$WORK/server.log"; echo "fuzz: server did not start" >&2; exit 1; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
curl -sf "$BASE/auth/register" -H 'content-type: application/json' \
  -d '{"email":"fuzz@example.com","name":"Fuzz","password":"correct horse battery"}' >/dev/null
TOKEN=$(curl -sf "$BASE/auth/login" -H 'content-type: application/json' \
  -d '{"email":"fuzz@example.com","password":"correct horse battery"}' | json access_token)
# Something for the id-taking operations to find.
curl -sf "$BASE/files?name=seed.txt" -H "authorization: Bearer $TOKEN" --data-binary 'seed' >/dev/null

# Operations that end the fuzzer's own session are left out: everything after them would only
# test the 401 path.
status=0
# schemathesis keeps a cache directory in the working directory: keep it out of the tree.
# One worker: with two threads, hypothesis parses lambda sources with `ast` concurrently, and
# Debian's Python 3.11 then fails with "AST constructor recursion depth mismatch" (CPython
# gh-106905, fixed in later 3.11 releases), a runtime error of the fuzzer, not of the server.
cd "$WORK"
"$VENV/bin/st" run "$BASE/openapi.json" \
  --checks not_a_server_error \
  --header "Authorization: Bearer $TOKEN" \
  --exclude-operation-id logout \
  --exclude-operation-id revoke_session \
  --exclude-operation-id delete_account \
  --max-examples "$EXAMPLES" \
  --workers 1 \
  --seed 20261125 \
  --no-color || status=$?
if grep -q '"status":5' "$WORK/server.log"; then
  echo "fuzz: the server logged errors:" >&2
  grep '"status":5' "$WORK/server.log" | head -20 >&2
  status=1
fi
exit $status
