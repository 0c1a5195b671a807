#!/usr/bin/env bash
# Dedup benchmark: 20 successive versions of a 256 MiB file set (16 files of 16 MiB of
# pseudo-random, incompressible bytes) with small edits between versions, made deterministically
# by bench/dedup_gen.py (each step overwrites a few 4 KiB regions in 2-3 files, inserts a few
# hundred bytes in the middle of one file and appends some KiB to one file).
#
#   ours:   `strongroom serve` (SQLite + local disk, embedded defaults), one user; each round
#           uploads every file of the version to the same name in the root (POST /files, curl -T:
#           201 in round 1, 200 = a new version of that file afterwards). Stored bytes = du -sb of
#           the blob storage dir (<data_dir>/blobs), the SQLite file reported apart.
#   restic: Debian's restic, `restic init` of a fresh local repository, then one `restic backup`
#           of the same path per version (so each is a snapshot on top of the previous one).
#           Stored bytes = du -sb of the repository.
#
# Goal (issue): stored bytes within 1.1x of restic's repository, total upload time <= restic's
# total backup time. Ratios: stored = ours / restic (<= 1.1 is the goal); time = restic / ours
# (>= 1: we are faster). Times are the wall time of the rounds only (generation, edits and a
# `sync` before each round are outside the timing), client included.
#
# Usage: bench/dedup.sh        (needs ~1 GiB free under ${TMPDIR:-/tmp} plus what the server
#                               stores: ~5.1 GiB while it keeps every version whole; installs
#                               restic from Debian's packages if missing, so run it as root)
# Env:   BIN (a strongroom binary: skips the build); CARGO_TARGET_DIR; FSYNC (default true, the
#        server's default; restic's local backend fsyncs too); VERSIONS (default 20); FILES
#        (default 16); FILE_MIB (default 16); SEED (default 1).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VERSIONS=${VERSIONS:-20}
FILES=${FILES:-16}
FILE_MIB=${FILE_MIB:-16}
SEED=${SEED:-1}
FSYNC=${FSYNC:-true}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
GIB=$((1024 * 1024 * 1024))
COMMAND="VERSIONS=$VERSIONS FILES=$FILES FILE_MIB=$FILE_MIB SEED=$SEED FSYNC=$FSYNC bench/dedup.sh"

log() { echo "dedup.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# --- tools -------------------------------------------------------------------------------------
missing=()
command -v restic >/dev/null || missing+=(restic)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian's packages"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
RESTIC_VERSION=$(restic version)
log "$RESTIC_VERSION"

# --- build -------------------------------------------------------------------------------------
if [ -n "${BIN:-}" ]; then
  [ -x "$BIN" ] || die "BIN=$BIN is not an executable"
  log "using BIN=$BIN (no build)"
else
  log "building (release) in $TARGET"
  CARGO_TARGET_DIR=$TARGET cargo build --release --quiet -p strongroom --bin strongroom
  BIN=$TARGET/release/strongroom
fi

# --- scratch space and cleanup -----------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strongroom-dedup-bench.XXXXXX")
DATA=$WORK/data
SET=$WORK/set # the file set; each version is made in place from the one before
SERVER_PID=
cleanup() {
  set +e
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
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

# Retention off (keep_last = keep_days = 0: every version stays), so that the server keeps all
# the versions restic keeps as snapshots.
start_server() {
  env "${UNSET[@]}" \
    STRONGROOM_DATA_DIR="$DATA" \
    STRONGROOM_LISTEN="127.0.0.1:$PORT" \
    STRONGROOM_PUBLIC_URL="$BASE" \
    STRONGROOM_LOG_LEVEL=warn \
    STRONGROOM_FILES_MAX_UPLOAD_BYTES=$((4 * GIB)) \
    STRONGROOM_FILES_VERSIONS_KEEP_LAST=0 \
    STRONGROOM_FILES_VERSIONS_KEEP_DAYS=0 \
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

now_ns() { date +%s%N; }
size_b() { du -sb "$1" | cut -f1; }
set_bytes() { find "$SET" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
set_digest() { (cd "$SET" && sha256sum -- *.bin | sha256sum | cut -c1-16); }
# Version 1 from scratch, or version $1 from the one before (in place).
make_version() { # version
  local out
  if [ "$1" -eq 1 ]; then
    rm -rf "$SET"
    out=$(python3 bench/dedup_gen.py init "$SET" "$FILES" "$FILE_MIB" "$SEED")
  else
    out=$(python3 bench/dedup_gen.py edit "$SET" "$1" "$SEED")
  fi
  log "  $out"
  sync # the generator's dirty pages are not written back inside a timed round
}

# --- restic ------------------------------------------------------------------------------------
export RESTIC_REPOSITORY=$WORK/restic-repo
export RESTIC_PASSWORD=dedup-bench-password
export RESTIC_CACHE_DIR=$WORK/restic-cache
restic init --quiet >/dev/null
RESTIC_REPO_VERSION=$(restic cat config --quiet | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
log "restic: repository format version $RESTIC_REPO_VERSION (compression auto, restic's default), $VERSIONS backups"
LOGICAL=0
RESTIC_NS=0
RESTIC_FIRST_NS=0
RESTIC_FIRST_BYTES=0
for v in $(seq "$VERSIONS"); do
  make_version "$v"
  bytes=$(set_bytes)
  LOGICAL=$((LOGICAL + bytes))
  t0=$(now_ns)
  restic backup --quiet --host dedup-bench "$SET" >/dev/null
  t1=$(now_ns)
  RESTIC_NS=$((RESTIC_NS + t1 - t0))
  if [ "$v" -eq 1 ]; then
    RESTIC_FIRST_NS=$((t1 - t0))
    FIRST_LOGICAL=$bytes
    RESTIC_FIRST_BYTES=$(size_b "$RESTIC_REPOSITORY")
  fi
done
RESTIC_DIGEST=$(set_digest)
RESTIC_BYTES=$(size_b "$RESTIC_REPOSITORY")
RESTIC_SNAPSHOTS=$(restic snapshots --quiet --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
[ "$RESTIC_SNAPSHOTS" -eq "$VERSIONS" ] || die "restic has $RESTIC_SNAPSHOTS snapshots, expected $VERSIONS"
RESTIC_STATS=$(restic stats --quiet --mode raw-data 2>/dev/null | sed 's/^ *//' | grep -v -e '^$' -e '^scanning' -e '^Stats in' | paste -sd ';' - || true)
log "restic: $RESTIC_BYTES bytes in the repository, $(python3 -c "print(f'{$RESTIC_NS / 1e9:.2f}')") s; stats: $RESTIC_STATS"
rm -rf "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR" # room for the server's blobs

# --- ours --------------------------------------------------------------------------------------
start_server
TOKEN=$(python3 bench/server_api.py token "$BASE" bench@example.com "bench-password-123456")
declare -A IDS # file name -> id
declare -A SUM1 # file name -> SHA-256 of its version 1

# POST a file to a name in the root, fail loudly unless the status is the expected one.
put() { # file name expected-status
  local code
  code=$(curl -sS -H 'Expect:' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream' \
    -T "$1" -X POST -o "$WORK/resp-$2.json" -w '%{http_code}' "$BASE/files?name=$2") ||
    die "upload of $2: curl failed"
  [ "$code" = "$3" ] ||
    die "upload of $2 (version $v): HTTP $code, expected $3: $(head -c 600 "$WORK/resp-$2.json")"
}

log "ours: $BIN, fsync $FSYNC, $VERSIONS rounds of $FILES uploads"
OURS_NS=0
OURS_FIRST_NS=0
OURS_FIRST_BYTES=0
for v in $(seq "$VERSIONS"); do
  make_version "$v"
  expect=$([ "$v" -eq 1 ] && echo 201 || echo 200)
  names=$(cd "$SET" && ls -- *.bin)
  t0=$(now_ns)
  for n in $names; do
    put "$SET/$n" "$n" "$expect"
  done
  t1=$(now_ns)
  OURS_NS=$((OURS_NS + t1 - t0))
  if [ "$v" -eq 1 ]; then
    OURS_FIRST_NS=$((t1 - t0))
    OURS_FIRST_BYTES=$(size_b "$DATA/blobs")
    for n in $names; do
      IDS[$n]=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/resp-$n.json")
      SUM1[$n]=$(sha256sum "$SET/$n" | cut -d' ' -f1)
    done
  fi
done
[ "$(set_digest)" = "$RESTIC_DIGEST" ] || die "the file set differs between the restic and the server runs"

# Check (untimed) that the server kept every version and serves the first and the last intact.
for n in "${!IDS[@]}"; do
  id=${IDS[$n]}
  count=$(curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/files/$id/versions" |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)))') || die "GET /files/$id/versions failed"
  [ "$count" -eq "$VERSIONS" ] || die "$n has $count versions on the server, expected $VERSIONS"
  curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/files/$id/content" | cmp -s - "$SET/$n" ||
    die "$n: the server's current content differs from version $VERSIONS"
  got=$(curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/files/$id/versions/1/content" | sha256sum | cut -d' ' -f1)
  [ "$got" = "${SUM1[$n]}" ] || die "$n: the server's version 1 differs from the uploaded one"
done
log "ours: every file has $VERSIONS versions; current and first versions download intact"

USAGE=
code=$(curl -sS -o "$WORK/usage.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/me/usage" || true)
if [ "$code" = 200 ]; then
  USAGE=$(cat "$WORK/usage.json")
  log "GET /me/usage: $USAGE"
else
  log "GET /me/usage: HTTP $code (not reported)"
fi
stop_server

OURS_BYTES=$(size_b "$DATA/blobs")
log "ours: blob storage $DATA/blobs: $(cd "$DATA/blobs" && du -sb -- * | tr '\t' ' ' | paste -sd ';' -)"
log "ours: database after stop: $(cd "$DATA" && ls -l strongroom.db* | awk '{print $NF, $5}' | paste -sd ';' -)"
# The server leaves its WAL behind on SIGTERM: fold it into the database file (what the data
# takes once checkpointed), or count the WAL too if that fails.
if python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()' \
  "$DATA/strongroom.db" 2>/dev/null; then
  log "ours: database after a WAL checkpoint: $(stat -c %s "$DATA/strongroom.db")"
fi
DB_BYTES=0
for f in "$DATA"/strongroom.db "$DATA"/strongroom.db-wal; do
  [ -f "$f" ] && DB_BYTES=$((DB_BYTES + $(stat -c %s "$f")))
done

# --- summary -----------------------------------------------------------------------------------
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
MACHINE="$(nproc) cores, $CPU, $(. /etc/os-release && echo "$PRETTY_NAME")"
python3 - "$LOGICAL" "$FIRST_LOGICAL" "$OURS_BYTES" "$DB_BYTES" "$RESTIC_BYTES" "$OURS_FIRST_BYTES" "$RESTIC_FIRST_BYTES" \
  "$OURS_NS" "$RESTIC_NS" "$OURS_FIRST_NS" "$RESTIC_FIRST_NS" "$VERSIONS" "$FILES" "$FILE_MIB" \
  "$MACHINE" "$COMMAND" "$RESTIC_VERSION" "$RESTIC_REPO_VERSION" "$FSYNC" "$USAGE" <<'EOF'
import sys
a = sys.argv[1:]
logical, first, ours, db, peer, ours1, peer1 = map(int, a[0:7])
t, tp, t1, tp1 = (int(x) / 1e9 for x in a[7:11])
versions, files, file_mib = a[11:14]
machine, command, restic_version, repo_version, fsync, usage = a[14:20]
mib = 1024 ** 2


def b(n):
    return f"{n / mib:,.1f} MiB"


def s(x, nbytes):
    return f"{x:.2f} s ({nbytes / x / 1e6:,.0f} MB/s)" if x > 0 else f"{x:.2f} s"


rest = logical - first
rows = [
    (f"Stored bytes, {versions} versions ({b(logical)} logical)", f"{b(ours)} (dedup {logical / ours:.2f}×)",
     f"{b(peer)} (dedup {logical / peer:.2f}×)", f"{ours / peer:.2f}× (goal <= 1.1)"),
    ("Stored bytes + database file", f"{b(ours + db)} (database {b(db)})", b(peer), f"{(ours + db) / peer:.2f}×"),
    ("Stored bytes after version 1", b(ours1), b(peer1), f"{ours1 / peer1:.2f}×"),
    (f"Time, {versions} versions (total wall time)", s(t, logical), s(tp, logical), f"{tp / t:.2f}× (goal >= 1)"),
    ("Time, version 1", s(t1, first), s(tp1, first), f"{tp1 / t1:.2f}×"),
    (f"Time, versions 2-{versions}", s(t - t1, rest), s(tp - tp1, rest),
     f"{(tp - tp1) / (t - t1):.2f}×" if t > t1 else "-"),
]
print()
print(f"Strongroom dedup benchmark - {machine}")
print(f"{versions} versions of {files} files x {file_mib} MiB (random bytes, small edits between versions);"
      f" ours: strongroom serve, SQLite + local disk, fsync {fsync}, curl uploads of every file each round;"
      f" restic: {restic_version.split(' compiled')[0]}, repository v{repo_version}, compression auto, local backend.")
print("MB/s are logical bytes (what was backed up / uploaded) per second of wall time.")
print("Ratios: stored = ours / restic (<= 1.1 is the goal); time = restic / ours (>= 1: we are faster).")
print()
print("| Workload | Ours | restic | Ratio |")
print("| --- | --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
if usage:
    print(f"GET /me/usage: {usage}")
print(f"Machine: {machine}")
print(f"Command: {command}")
EOF
