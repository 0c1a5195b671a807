#!/usr/bin/env bash
# Creates a virtualenv with PyJWT (+ cryptography for EdDSA/ES256) for the interop test and
# prints the export line the test reads:
#   eval "$(crates/session-store/bench/pyjwt-venv.sh)"
#   cargo test -p strongroom-session-store --test interop
set -euo pipefail
VENV=${STRONGROOM_PYJWT_VENV:-/tmp/strongroom-pyjwt-venv}
if ! "$VENV/bin/python" -c 'import jwt, cryptography' 2>/dev/null; then
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q 'pyjwt[crypto]>=2.8' >&2
fi
echo "export STRONGROOM_PYJWT_PYTHON=$VENV/bin/python"
