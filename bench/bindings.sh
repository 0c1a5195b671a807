#!/usr/bin/env bash
# Python and Node bindings against their peers, in one run (see bindings_python.py and
# bindings_node.mjs for the workloads):
#   Python: strongroom.policy vs cedarpy (PyPI), KeyRing.sign_file vs hmac + hashlib
#   Node:   PolicyEngine vs @cedar-policy/cedar-wasm (npm), KeyRing.signFile vs crypto.createHmac
#
# Usage: bench/bindings.sh [WORKDIR]   (default /tmp/strongroom-bench; needs ~1.1 GiB free)
# Prints Markdown table rows for docs/benchmarks.md. Ratio = peer time / our time.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=${1:-/tmp/strongroom-bench}
mkdir -p "$WORK"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

VENV=$WORK/bench-venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "maturin>=1.9,<2" "cedarpy==4.12.*" >&2
"$VENV/bin/pip" install -q --force-reinstall --no-deps ./bindings/python >&2

PEERS=$WORK/node-peers
mkdir -p "$PEERS"
[ -f "$PEERS/package.json" ] || (cd "$PEERS" && npm init -y >/dev/null)
(cd "$PEERS" && npm install --no-audit --no-fund --loglevel=error "@cedar-policy/cedar-wasm@4" >&2)
(cd bindings/node && npm ci --no-audit --no-fund --loglevel=error >&2 && npm run --silent build >&2)

[ -f "$WORK/1g.bin" ] || head -c 1073741824 /dev/urandom > "$WORK/1g.bin"
cat "$WORK/1g.bin" > /dev/null # page cache: measure hashing, not the disk

echo "| Workload | Ours | Peer | Peer's figure | Ratio | Machine | Command |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
(cd "$WORK" && BENCH_WORKLOAD_OUT="$WORK/policy-workload.json" "$VENV/bin/python" "$ROOT/bench/bindings_python.py" "$WORK/1g.bin")
# The Rust API on the same workload: what the bindings' per-call overhead is measured against.
RUST_AUTHORIZE_US=$(cargo run -q --release -p strongroom-access-policy --example json_workload -- "$WORK/policy-workload.json" | sed -n 's/^rust_authorize_from_json_us=//p')
export RUST_AUTHORIZE_US
node bench/bindings_node.mjs "$WORK/policy-workload.json" "$WORK/1g.bin" "$PEERS"
(cd "$WORK" && "$VENV/bin/python" "$ROOT/bench/bindings_python.py" --overhead-only "$WORK/1g.bin")
