#!/usr/bin/env bash
# Benchmarks of the reference server (`strongroom serve`, SQLite + local disk) in one run:
#
#   1. download of a 1 GiB file (page cache) over loopback   vs  nginx (sendfile on), same file
#   2. upload of a 1 GiB file over loopback                   vs  object_store's own streaming put
#                                                                 (server/examples/objectstore_put.rs)
#   3. 4 KiB uploads per second, 32 concurrent clients (wrk)
#   4. server peak RSS (VmHWM) during a 1 GiB upload vs a 1 MiB upload (fresh process each; a
#      256 MiB upload too, to show the peak is bounded by the part buffers, not the file size)
#   5. policy decisions: GET /files/{id} on a file at the root vs one 30 folders deep (wrk)
#
# The download is measured twice: with the default integrity check (files.verify_downloads: a
# keyed BLAKE3 pass over every byte sent) and with it off (a second server on the same data).
#
# Usage: bench/server.sh        (needs ~4 GiB free under ${TMPDIR:-/tmp}; installs nginx, hyperfine
#                                and wrk from Debian's packages if missing, so run it as root)
# Env:   RUNS (default 10) timed runs per command; WRK_SECONDS (default 10); FSYNC (default true);
#        CARGO_TARGET_DIR; SERVER_ENV (extra server settings, e.g. "STRONGROOM_STORAGE_DEDUP=false
#        STRONGROOM_STORAGE_ENCRYPT=false" for the plain one-object-per-version path).
# Ratio = peer time / our time: above 1 we are faster. Times are hyperfine medians, client included.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-10}
WRK_SECONDS=${WRK_SECONDS:-10}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GIB=$((1024 * 1024 * 1024))
MIB=$((1024 * 1024))

log() { echo "server.sh: $*" >&2; }

# --- tools -------------------------------------------------------------------------------------
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# --- build -------------------------------------------------------------------------------------
log "building (release) in $TARGET"
CARGO_TARGET_DIR=$TARGET cargo build --release --quiet -p strongroom --bin strongroom --example objectstore_put
BIN=$TARGET/release/strongroom
OSPUT=$TARGET/release/examples/objectstore_put
# FSYNC=true (the server's default: blobs are fsynced before their metadata commits) or false;
# the object_store peer does the same.
FSYNC=${FSYNC:-true}
OSPUT_FSYNC=$([ "$FSYNC" = true ] && echo --fsync || true)

# --- scratch space and cleanup -----------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strongroom-server-bench.XXXXXX")
DATA=$WORK/data
SERVER_PID=
SERVER2_PID=
NGINX_PID=
cleanup() {
  set +e
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "$SERVER2_PID" ] && kill "$SERVER2_PID" 2>/dev/null && wait "$SERVER2_PID" 2>/dev/null
  [ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT

# The server refuses unknown STRONGROOM_* variables: start it with only ours.
UNSET=()
for v in $(compgen -e); do
  case $v in STRONGROOM_*) UNSET+=(-u "$v") ;; esac
done

# SERVER_ENV: extra settings for every server of the run, e.g.
# SERVER_ENV="STRONGROOM_STORAGE_DEDUP=false STRONGROOM_STORAGE_ENCRYPT=false" (the plain path).
read -r -a EXTRA <<<"${SERVER_ENV:-}"
start_server() { # [extra VAR=value ...]
  env "${UNSET[@]}" "${EXTRA[@]}" "$@" \
    STRONGROOM_DATA_DIR="$DATA" \
    STRONGROOM_LISTEN="127.0.0.1:$PORT" \
    STRONGROOM_PUBLIC_URL="$BASE" \
    STRONGROOM_LOG_LEVEL=warn \
    STRONGROOM_FILES_MAX_UPLOAD_BYTES=$((4 * GIB)) \
    STRONGROOM_HTTP_RATE_LIMIT_PER_IP=100000000 \
    STRONGROOM_HTTP_RATE_LIMIT_PER_USER=100000000 \
    STRONGROOM_AUTH_ACCESS_TTL_SECS=3600 \
    STRONGROOM_STORAGE_FSYNC="$FSYNC" \
    "$BIN" serve >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do
    curl -sf -o /dev/null "$BASE/healthz" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  log "the server did not start; its log:"
  cat "$WORK/server.log" >&2
  exit 1
}
stop_server() {
  kill "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=
}
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; } # user + system, clock ticks
TICK=$(getconf CLK_TCK)

# POST a file (curl streams it: -T, not --data-binary), print the new id.
upload() { # file name
  curl -sf -H 'Expect:' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream' \
    -T "$1" -X POST "$BASE/files?name=$2" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
median() { # hyperfine JSON, command index
  python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]['median'])" "$1" "$2"
}
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}×')" "$1" "$2"; }

# --- inputs ------------------------------------------------------------------------------------
log "work dir $WORK; writing a 1 GiB random file"
SRC=$WORK/input-1g.bin
head -c "$GIB" /dev/urandom >"$SRC"
head -c "$MIB" "$SRC" >"$WORK/input-1m.bin"
head -c $((256 * MIB)) "$SRC" >"$WORK/input-256m.bin"

start_server
TOKEN=$(python3 bench/server_api.py token "$BASE" bench@example.com "bench-password-123456")

# --- 1. download vs nginx ----------------------------------------------------------------------
DL_ID=$(upload "$SRC" download.bin)
# nginx serves the input itself (the server stores chunks, encrypted by default, or one object
# per version with SERVER_ENV's dedup off).
mkdir -p "$WORK/nginx-root"
BLOB=$WORK/nginx-root/$DL_ID
ln "$SRC" "$BLOB"
curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/files/$DL_ID/content" | cmp - "$SRC" ||
  { log "the server's download differs from the input"; exit 1; }

NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs"
cat >"$WORK/nginx/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/nginx-root;
  }
}
EOF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
NGINX_PID=$!
for _ in $(seq 100); do
  curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$NGINX_PORT/$DL_ID" && break
  kill -0 "$NGINX_PID" 2>/dev/null || { cat "$WORK/nginx/logs/error.log" >&2; exit 1; }
  sleep 0.1
done
cat "$BLOB" >/dev/null # nginx's file, and below the server's stored content, in the page cache
cat $(find "$DATA/blobs" -type f) >/dev/null

# The same data served without the download integrity check, for the second figure (same public
# URL: it is the tokens' issuer).
PORT2=$(free_port)
env "${UNSET[@]}" STRONGROOM_DATA_DIR="$DATA" STRONGROOM_LISTEN="127.0.0.1:$PORT2" \
  STRONGROOM_PUBLIC_URL="$BASE" STRONGROOM_LOG_LEVEL=warn \
  STRONGROOM_HTTP_RATE_LIMIT_PER_IP=100000000 STRONGROOM_HTTP_RATE_LIMIT_PER_USER=100000000 \
  STRONGROOM_EVENTS_RELAY=false STRONGROOM_FILES_VERIFY_DOWNLOADS=false \
  "$BIN" serve >>"$WORK/server2.log" 2>&1 &
SERVER2_PID=$!
for _ in $(seq 300); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT2/healthz" && break
  sleep 0.1
done

log "1. download, 1 GiB"
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$WORK/download.json" \
  -n strongroom "curl -sf -o /dev/null -H 'Authorization: Bearer $TOKEN' $BASE/files/$DL_ID/content" \
  -n nginx "curl -sf -o /dev/null http://127.0.0.1:$NGINX_PORT/$DL_ID" \
  -n strongroom-unverified "curl -sf -o /dev/null -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$PORT2/files/$DL_ID/content" >&2
DL_OURS=$(median "$WORK/download.json" 0)
DL_PEER=$(median "$WORK/download.json" 1)
DL_UNVERIFIED=$(median "$WORK/download.json" 2)
kill -QUIT "$NGINX_PID"
wait "$NGINX_PID" || true
NGINX_PID=
kill "$SERVER2_PID"
wait "$SERVER2_PID" || true
SERVER2_PID=

# --- 2. upload vs object_store -----------------------------------------------------------------
log "2. upload, 1 GiB"
cat "$SRC" >/dev/null
# Every run of ours starts with nothing stored (files deleted, trash emptied: with dedup on, any
# copy of the same bytes left anywhere would turn the upload into a dedup hit); the last command
# measures exactly that hit: the same 1 GiB uploaded again as a new file.
UPLOAD_CMD="curl -sf -o /dev/null -H 'Expect:' -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/octet-stream' -T $SRC -X POST"
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$WORK/upload.json" \
  --prepare "python3 $ROOT/bench/server_api.py purge $BASE $TOKEN && sync" \
  --prepare "rm -rf $WORK/os && sync" \
  --prepare "rm -rf $WORK/os && sync" \
  --prepare "python3 $ROOT/bench/server_api.py purge $BASE $TOKEN && $UPLOAD_CMD '$BASE/files?name=first.bin' && sync" \
  -n strongroom "$UPLOAD_CMD '$BASE/files?name=upload.bin'" \
  -n object_store "$OSPUT $SRC $WORK/os $OSPUT_FSYNC" \
  -n object_store+sha256 "$OSPUT $SRC $WORK/os $OSPUT_FSYNC --sha256" \
  -n strongroom-again "$UPLOAD_CMD '$BASE/files?name=again.bin'" >&2
UP_OURS=$(median "$WORK/upload.json" 0)
UP_PEER=$(median "$WORK/upload.json" 1)
UP_PEER_SHA=$(median "$WORK/upload.json" 2)
UP_AGAIN=$(median "$WORK/upload.json" 3)
UP_CURL_CPU=$(python3 -c "import json, sys; r = json.load(open(sys.argv[1]))['results']; print(r[0]['user'] + r[0]['system'], r[1]['user'] + r[1]['system'])" "$WORK/upload.json")
python3 bench/server_api.py purge "$BASE" "$TOKEN"
rm -rf "$WORK/os"

# --- 3. 4 KiB uploads, 32 clients --------------------------------------------------------------
log "3. 4 KiB uploads, 32 connections, ${WRK_SECONDS} s"
T0=$(cpu_ticks)
SR_BENCH_TOKEN=$TOKEN wrk -t "$(nproc)" -c 32 -d "${WRK_SECONDS}s" --latency \
  -s bench/server_small_upload.lua "$BASE" >"$WORK/wrk.txt"
T1=$(cpu_ticks)
cat "$WORK/wrk.txt" >&2
SMALL_RPS=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$WORK/wrk.txt")
SMALL_P99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
SMALL_REQS=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
SMALL_CPU_MS=$(python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]) * 1000 / int(sys.argv[4]):.2f}')" "$T0" "$T1" "$TICK" "$SMALL_REQS")
SMALL_ERR=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$WORK/wrk.txt")
SMALL_NOTE=""
if [ -n "$SMALL_ERR" ] || grep -q 'Socket errors' "$WORK/wrk.txt"; then
  SMALL_NOTE=" (ERRORS: ${SMALL_ERR:-0} non-2xx; see above)"
fi

# --- 5. decisions: a file at the root vs 30 folders deep ---------------------------------------
log "5. GET /files/{id}: root vs 30 folders deep, ${WRK_SECONDS} s each"
ROOT_FILE=$(upload "$WORK/input-1m.bin" shallow.bin)
PARENT=""
for level in $(seq 30); do
  PARENT=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"name\": \"level $level\"${PARENT:+, \"parent_id\": \"$PARENT\"}}" "$BASE/folders" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
done
DEEP_FILE=$(curl -sf -H 'Expect:' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream' \
  -T "$WORK/input-1m.bin" -X POST "$BASE/files?name=deep.bin&folder_id=$PARENT" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
decisions() { # file id -> requests/s
  wrk -t "$(nproc)" -c 16 -d "${WRK_SECONDS}s" -H "Authorization: Bearer $TOKEN" "$BASE/files/$1" |
    awk '/^Requests\/sec:/ {printf "%.0f", $2}'
}
META_ROOT=$(decisions "$ROOT_FILE")
META_DEEP=$(decisions "$DEEP_FILE")

# --- 4. peak RSS: 1 MiB vs 1 GiB upload --------------------------------------------------------
log "4. peak RSS"
stop_server
start_server
RSS_IDLE=$(hwm_kib)
upload "$WORK/input-1m.bin" rss-1m.bin >/dev/null
RSS_1M=$(hwm_kib)
stop_server
start_server
python3 bench/server_api.py purge "$BASE" "$TOKEN" # nothing left to dedup against
T0=$(cpu_ticks)
upload "$SRC" rss-1g.bin >/dev/null
T1=$(cpu_ticks)
RSS_1G=$(hwm_kib)
UP_SERVER_CPU=$(python3 -c "import sys; print((int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]))" "$T0" "$T1" "$TICK")
stop_server
start_server
python3 bench/server_api.py purge "$BASE" "$TOKEN"
upload "$WORK/input-256m.bin" rss-256m.bin >/dev/null
RSS_256M=$(hwm_kib)
stop_server

# --- summary -----------------------------------------------------------------------------------
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
MACHINE="$(nproc) cores, $CPU, $(. /etc/os-release && echo "$PRETTY_NAME")"
python3 - "$DL_OURS" "$DL_PEER" "$UP_OURS" "$UP_PEER" "$SMALL_RPS" "$SMALL_P99" "$SMALL_NOTE" \
  "$RSS_IDLE" "$RSS_1M" "$RSS_1G" "$RSS_256M" "$MACHINE" "$RUNS" "$UP_SERVER_CPU" $UP_CURL_CPU "$SMALL_CPU_MS" "$FSYNC" "$UP_PEER_SHA" \
  "$DL_UNVERIFIED" "$META_ROOT" "$META_DEEP" "$UP_AGAIN" <<'EOF'
import sys
dl, dlp, up, upp = map(float, sys.argv[1:5])
rps, p99, note = sys.argv[5], sys.argv[6], sys.argv[7]
idle, r1m, r1g, r256m = (int(x) / 1024 for x in sys.argv[8:12])
machine, runs = sys.argv[12], sys.argv[13]
srv_cpu, curl_cpu, peer_cpu = map(float, sys.argv[14:17])
small_cpu_ms = sys.argv[17]
fsync = "fsync on" if sys.argv[18] == "true" else "fsync off"
upps = float(sys.argv[19])
dlu = float(sys.argv[20])
meta_root, meta_deep = sys.argv[21], sys.argv[22]
again = float(sys.argv[23])
gib = 1024 ** 3
rows = [
    ("Download 1 GiB (page cache, loopback, curl)", f"{dl:.3f} s ({gib / dl / 1e6:,.0f} MB/s)",
     "nginx 1.22, sendfile on", f"{dlp:.3f} s ({gib / dlp / 1e6:,.0f} MB/s)", f"{dlp / dl:.2f}×"),
    ("Download 1 GiB, files.verify_downloads = false", f"{dlu:.3f} s ({gib / dlu / 1e6:,.0f} MB/s)",
     "nginx 1.22, sendfile on", f"{dlp:.3f} s ({gib / dlp / 1e6:,.0f} MB/s)", f"{dlp / dlu:.2f}×"),
    (f"Upload 1 GiB (loopback, curl -T, {fsync})", f"{up:.3f} s ({gib / up / 1e6:,.0f} MB/s)",
     f"object_store put to local dir, {fsync}", f"{upp:.3f} s ({gib / upp / 1e6:,.0f} MB/s)", f"{upp / up:.2f}×"),
    (f"Upload 1 GiB (loopback, curl -T, {fsync})", f"{up:.3f} s ({gib / up / 1e6:,.0f} MB/s)",
     f"object_store put + SHA-256 alongside, {fsync}", f"{upps:.3f} s ({gib / upps / 1e6:,.0f} MB/s)", f"{upps / up:.2f}×"),
    (f"Upload the same 1 GiB again as a new file (every chunk a dedup hit, {fsync})", f"{again:.3f} s ({gib / again / 1e6:,.0f} MB/s)",
     f"object_store put to local dir, {fsync}", f"{upp:.3f} s ({gib / upp / 1e6:,.0f} MB/s)", f"{upp / again:.2f}×"),
    ("4 KiB uploads, 32 connections (wrk)", f"{rps} uploads/s, p99 {p99}{note}", "-", "-", "-"),
    ("GET /files/{id} 30 folders deep, 16 connections (wrk)", f"{meta_deep} requests/s",
     "same, file at the root", f"{meta_root} requests/s",
     f"{float(meta_deep) / float(meta_root):.2f}×" if float(meta_root) else "-"),
    ("Server peak RSS (VmHWM), 1 GiB upload", f"{r1g:.1f} MiB", "same, 1 MiB upload", f"{r1m:.1f} MiB",
     f"{r1g / r1m:.2f}× (256 MiB upload: {r256m:.1f} MiB; idle {idle:.1f} MiB)"),
]
print()
print(f"Strongroom server benchmarks - {machine}")
print(f"(medians of {runs} runs after 1 warm-up; ratio = peer time / our time, >1: we are faster)")
print()
print("| Workload | Ours | Peer | Peer's figure | Ratio |")
print("| --- | --- | --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
print(f"CPU for one 1 GiB upload: server {srv_cpu:.2f} s + curl {curl_cpu:.2f} s; object_store put {peer_cpu:.2f} s.")
print(f"Server CPU per 4 KiB upload under wrk: {small_cpu_ms} ms.")
EOF
