#!/usr/bin/env bash
# Checks this crate's webhook signatures with an independent implementation: the Python
# `standardwebhooks` package (the specification's reference library), installed in a venv.
#
#   crates/audit/bench/webhook_interop.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
VENV=${STRONGROOM_BENCH_VENV:-/tmp/strongroom-audit-venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q standardwebhooks
cargo run -q -p strongroom-audit --features webhooks --example webhook_signature > /tmp/strongroom-webhooks.jsonl
"$VENV/bin/python" - <<'PY'
import json
from standardwebhooks.webhooks import Webhook

checked = 0
for line in open("/tmp/strongroom-webhooks.jsonl"):
    m = json.loads(line)
    headers = {"webhook-id": m["id"], "webhook-timestamp": m["timestamp"], "webhook-signature": m["signature"]}
    for key in ("secret", "old_secret") if " " in m["signature"] else ("secret",):
        Webhook(m[key]).verify(m["body"], headers)
        checked += 1
    try:
        Webhook(m["secret"]).verify(m["body"] + " ", headers)
        raise SystemExit("a tampered body verified")
    except Exception as e:
        if isinstance(e, SystemExit):
            raise
print(f"standardwebhooks (Python) verified {checked} signatures made by strongroom-audit; tampered bodies rejected")
PY
