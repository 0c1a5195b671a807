#!/usr/bin/env bash
# Whole-process benchmarks of strongroom-verify against the peers people use today, in one run:
#
#   1. HMAC-SHA256 of a 1 GiB file          vs  openssl dgst -sha256 -mac HMAC
#   2. manifest of 10,000 small files       vs  sha256sum (one process, and xargs -P NPROC)
#   3. manifest of 20 x 100 MiB files       vs  sha256sum (one process, and xargs -P NPROC)
#   4. peak memory signing a 10 GiB sparse file vs a 1 MiB file (constant memory)
#
# Usage: bench/file-verifier.sh [WORKDIR]   (default /tmp/strongroom-bench; needs ~3.2 GiB free)
# Prints Markdown table rows for docs/benchmarks.md. Ratio = peer time / our time (>1: we are faster).
set -euo pipefail

cd "$(dirname "$0")/.."
WORK=${1:-/tmp/strongroom-bench}
RUNS=${RUNS:-5}
mkdir -p "$WORK"

if ! command -v hyperfine >/dev/null; then
  echo "installing hyperfine from Debian's packages" >&2
  apt-get update -qq >/dev/null && apt-get install -y -qq hyperfine >/dev/null
fi

cargo build --release --quiet -p strongroom-file-verifier --features cli
BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/strongroom-verify

KEY=$WORK/bench.key
[ -f "$KEY" ] || "$BIN" keygen --out "$KEY" 2>/dev/null
HEXKEY=$(cat "$KEY")
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
SHANI=$(grep -qw sha_ni /proc/cpuinfo && echo "SHA-NI" || echo "no SHA-NI")
MACHINE="$(nproc)-core $(. /etc/os-release && echo "$PRETTY_NAME"), $CPU, $SHANI"

# median seconds of command $2 from hyperfine's JSON export $1 (index $3)
median() { python3 -c "import json,sys; print(json.load(open('$1'))['results'][$2]['median'])"; }

compare() { # name ours peer_label peer_cmd
  local name=$1 ours=$2 peer_label=$3 peer=$4 json=$WORK/$1.json
  hyperfine --style none --warmup 1 --runs "$RUNS" --export-json "$json" "$ours" "$peer" >&2
  local a b
  a=$(median "$json" 0)
  b=$(median "$json" 1)
  python3 - "$name" "$a" "$peer_label" "$b" "$MACHINE" <<'EOF'
import sys
name, ours, peer, theirs, machine = sys.argv[1], float(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
print(f"| {name} | {ours:.3f} s | {peer} | {theirs:.3f} s | {theirs / ours:.2f}× | {machine} | `bench/file-verifier.sh` |")
EOF
}

echo "preparing inputs in $WORK" >&2
[ -f "$WORK/1g.bin" ] || head -c 1073741824 /dev/urandom > "$WORK/1g.bin"
if [ ! -d "$WORK/small" ]; then
  mkdir -p "$WORK/small"
  python3 - "$WORK/small" <<'EOF'
import os, sys
root = sys.argv[1]
for i in range(10_000):
    d = os.path.join(root, f"d{i % 100:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}"), "wb") as f:
        f.write(os.urandom(256 + (i * 7919) % 8192))
EOF
fi
if [ ! -d "$WORK/large" ]; then
  mkdir -p "$WORK/large"
  for i in $(seq -w 1 20); do head -c 104857600 /dev/urandom > "$WORK/large/f$i.bin"; done
fi
cat "$WORK/1g.bin" > /dev/null # page cache: measure hashing, not the disk

echo "| Workload | Ours | Peer | Peer's figure | Ratio | Machine | Command |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
compare "HMAC-SHA256, 1 GiB file (page cache)" \
  "$BIN sign --key $KEY $WORK/1g.bin" \
  "openssl dgst -sha256 -mac HMAC" "openssl dgst -sha256 -mac HMAC -macopt hexkey:$HEXKEY $WORK/1g.bin"
compare "manifest, 10,000 small files (20 MiB)" \
  "$BIN manifest create --key $KEY --out $WORK/small.json $WORK/small" \
  "sha256sum (1 process)" "sh -c 'find $WORK/small -type f -print0 | xargs -0 sha256sum > /dev/null'"
compare "manifest, 10,000 small files (20 MiB), all cores" \
  "$BIN manifest create --key $KEY --out $WORK/small.json $WORK/small" \
  "sha256sum (xargs -P $(nproc))" "sh -c 'find $WORK/small -type f -print0 | xargs -0 -P $(nproc) -n 500 sha256sum > /dev/null'"
compare "manifest, 20 x 100 MiB files" \
  "$BIN manifest create --key $KEY --out $WORK/large.json $WORK/large" \
  "sha256sum (1 process)" "sh -c 'sha256sum $WORK/large/* > /dev/null'"
compare "manifest, 20 x 100 MiB files, all cores" \
  "$BIN manifest create --key $KEY --out $WORK/large.json $WORK/large" \
  "sha256sum (xargs -P $(nproc))" "sh -c 'ls $WORK/large/* | xargs -P $(nproc) -n 1 sha256sum > /dev/null'"

# Constant memory: a sparse 10 GiB file costs no disk and reads as zeros at memory speed.
truncate -s 10G "$WORK/sparse-10g.bin"
head -c 1048576 /dev/urandom > "$WORK/1m.bin"
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
small_rss=$(rss "$BIN" sign --key "$KEY" "$WORK/1m.bin")
large_rss=$(rss "$BIN" sign --key "$KEY" "$WORK/sparse-10g.bin")
echo "| peak RSS signing a 10 GiB sparse file | ${large_rss} KiB | same binary on a 1 MiB file | ${small_rss} KiB | $(python3 -c "print(f'{$small_rss/$large_rss:.2f}')")× | $MACHINE | \`bench/file-verifier.sh\` |"
rm -f "$WORK/sparse-10g.bin"
