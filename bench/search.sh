#!/usr/bin/env bash
# Search benchmarks, in one run:
#
#   1. search latency (p50, p99) of the index against a plain `LIKE '%term%'` scan of the same
#      tables, on SQLite and on PostgreSQL: 100 users x 1,000 files, a name query and a content
#      query, within one user's files and within everyone's (server/examples/search_bench.rs)
#   2. indexing cost per upload: 4 KiB text uploads per second (wrk, 32 connections) with content
#      indexing (the default, search.content_bytes = 1 MiB) and without (content_bytes = 0),
#      alternated A B A B on fresh data directories
#
# Usage: bench/search.sh   (PostgreSQL from scripts/services.sh; installs wrk from Debian's
#                           packages if missing, so run it as root)
# Env:   USERS (100), FILES (1000 per user), QUERIES (200), WRK_SECONDS (10), CARGO_TARGET_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
USERS=${USERS:-100}
FILES=${FILES:-1000}
QUERIES=${QUERIES:-200}
WRK_SECONDS=${WRK_SECONDS:-10}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
log() { echo "search.sh: $*" >&2; }

command -v wrk >/dev/null || {
  log "installing wrk from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk curl >/dev/null
}
scripts/services.sh up postgres >&2
eval "$(scripts/services.sh env postgres)"

log "building (release) in $TARGET"
CARGO_TARGET_DIR=$TARGET cargo build --release --quiet -p strongroom --bin strongroom --example search_bench
BIN=$TARGET/release/strongroom
BENCH=$TARGET/release/examples/search_bench

WORK=$(mktemp -d "${TMPDIR:-/tmp}/strongroom-search-bench.XXXXXX")
SERVER_PID=
cleanup() {
  set +e
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

MACHINE="$(nproc)-core $(. /etc/os-release && echo "$NAME $VERSION_ID" | sed 's/ GNU\/Linux//') VM"
export SEARCH_BENCH_MACHINE=$MACHINE

# --- 1. search latency -------------------------------------------------------------------------
echo "| Workload | Ours | Peer | Peer's figure | Ratio (peer ÷ ours) | Notes | Machine | Command |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
log "1. SQLite: $USERS users x $FILES files"
"$BENCH" "sqlite://$WORK/search.db?mode=rwc" --users "$USERS" --files "$FILES" --queries "$QUERIES"
log "1. PostgreSQL: $USERS users x $FILES files"
"$BENCH" "$STRONGROOM_TEST_POSTGRES_URL" --users "$USERS" --files "$FILES" --queries "$QUERIES"

# --- 2. uploads with and without content indexing -----------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
UNSET=()
for v in $(compgen -e); do
  case $v in STRONGROOM_*) UNSET+=(-u "$v") ;; esac
done
uploads_per_sec() { # content_bytes
  local data=$WORK/data-$1-$RANDOM
  env "${UNSET[@]}" \
    STRONGROOM_DATA_DIR="$data" \
    STRONGROOM_LISTEN="127.0.0.1:$PORT" \
    STRONGROOM_PUBLIC_URL="$BASE" \
    STRONGROOM_LOG_LEVEL=warn \
    STRONGROOM_HTTP_RATE_LIMIT_PER_IP=100000000 \
    STRONGROOM_HTTP_RATE_LIMIT_PER_USER=100000000 \
    STRONGROOM_AUTH_ACCESS_TTL_SECS=3600 \
    STRONGROOM_SEARCH_CONTENT_BYTES="$1" \
    "$BIN" serve >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do
    curl -sf -o /dev/null "$BASE/healthz" && break
    sleep 0.1
  done
  local token
  token=$(python3 bench/server_api.py token "$BASE" bench@example.com "bench-password-123456")
  SR_BENCH_TOKEN=$token wrk -t "$(nproc)" -c 32 -d "${WRK_SECONDS}s" --latency \
    -s bench/search_upload.lua "$BASE" >"$WORK/wrk.txt"
  kill "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=
  if grep -q 'Non-2xx' "$WORK/wrk.txt"; then
    log "errors during the upload run:"
    cat "$WORK/wrk.txt" >&2
    exit 1
  fi
  awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$WORK/wrk.txt"
}
log "2. 4 KiB text uploads, 32 connections, ${WRK_SECONDS} s per run, A B A B"
A1=$(uploads_per_sec 1048576)
B1=$(uploads_per_sec 0)
A2=$(uploads_per_sec 1048576)
B2=$(uploads_per_sec 0)
python3 - "$A1" "$B1" "$A2" "$B2" "$MACHINE" <<'PY'
import sys
a1, b1, a2, b2 = map(float, sys.argv[1:5])
a, b = (a1 + a2) / 2, (b1 + b2) / 2
print(f"| 4 KiB text uploads/s, 32 connections, content indexed (default) | {a:.0f}/s ({a1:.0f}, {a2:.0f}) "
      f"| same server, `search.content_bytes = 0` | {b:.0f}/s ({b1:.0f}, {b2:.0f}) | {a / b:.2f}× | indexing cost per upload | {sys.argv[5]} | `bench/search.sh` |")
PY
