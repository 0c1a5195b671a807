#!/usr/bin/env bash
# Speed and detection quality against River's HalfSpaceTrees on the same generated stream.
#
#   crates/anomaly-lib/bench/river_compare.sh [USERS] [DAYS]
#
# Creates a venv under /tmp with `river` from PyPI, exports a seeded stream with the
# `export_stream` example, runs strongroom-anomaly (`throughput` example, release build) and
# River (plain, and with hand-made per-user novelty flags), and prints events/s, AUC and ratios.
# Also prints memory per user with 100k users.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
users="${1:-200}"
days="${2:-60}"
venv="${STRONGROOM_RIVER_VENV:-/tmp/strongroom-river-venv}"
stream="$(mktemp /tmp/strongroom-stream.XXXXXX.jsonl)"
trap 'rm -f "$stream"' EXIT

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "river>=0.21"
river_version="$("$venv/bin/python" -c 'import river; print(river.__version__)')"

cd "$here/.."
cargo run --quiet --release -p strongroom-anomaly --example export_stream -- \
    --out "$stream" --users "$users" --days "$days" --seed 7
ours="$(cargo run --quiet --release -p strongroom-anomaly --example throughput -- "$stream")"
plain="$("$venv/bin/python" "$here/river_hst.py" "$stream")"
novelty="$("$venv/bin/python" "$here/river_hst.py" "$stream" --novelty)"
mem="$(cargo run --quiet --release -p strongroom-anomaly --example throughput -- --memory --users 100000)"

field() { sed -n "s/^$1=//p" <<<"$2"; }
ours_eps="$(field events_per_sec "$ours")"; ours_auc="$(field auc "$ours")"
plain_eps="$(field events_per_sec "$plain")"; plain_auc="$(field auc "$plain")"
nov_eps="$(field events_per_sec "$novelty")"; nov_auc="$(field auc "$novelty")"

echo "stream: $users users x $days days, seed 7 ($(field events "$(head -1 <<<"$ours" | tr ' ' '\n')") events)"
printf '%-40s %12s %8s\n' "" "events/s" "AUC"
printf '%-40s %12s %8s\n' "strongroom-anomaly score_and_observe" "$ours_eps" "$ours_auc"
printf '%-40s %12s %8s\n' "river $river_version HalfSpaceTrees" "$plain_eps" "$plain_auc"
printf '%-40s %12s %8s\n' "river HalfSpaceTrees + novelty flags" "$nov_eps" "$nov_auc"
python3 -c "print(f'throughput ratio vs HalfSpaceTrees: {$ours_eps/$plain_eps:.0f}x (vs +novelty: {$ours_eps/$nov_eps:.0f}x)')"
echo "$mem"
