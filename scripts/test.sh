#!/usr/bin/env bash
# THE test command: what CI runs and what a contributor runs before pushing.
#
#   scripts/test.sh
#
# 1. starts the real services the tests need (scripts/services.sh up: installs them when missing)
# 2. cargo fmt --check, cargo clippy -D warnings over every target and feature
# 3. every workspace test (cargo-nextest when present, else cargo test), then the doctests, then a
#    schema-driven fuzz of the server API (scripts/fuzz-api.sh)
# 4. the Python and Node bindings: built, linted, and tested with pytest / node:test / tsc
#
# Service-backed suites never skip here: STRONGROOM_TEST_REQUIRE_SERVICES=1 turns a missing
# service into a failing test. Exits non-zero on any failure and ends with one summary line.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOG_DIR=$(mktemp -d)
# The bindings are separate cargo workspaces; sharing the main target directory shares their
# compiled dependencies with it.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
# A fresh machine gains nothing from incremental artifacts, and they cost gigabytes of disk.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
trap 'rm -rf "$LOG_DIR"' EXIT

passed=0
failed=0
failed_steps=()
started=$(date +%s)

say() { printf '\n==> %s\n' "$*"; }

# Runs one named step, echoing its output and keeping a copy for the summary.
step() {
  local name=$1
  shift
  say "$name: $*"
  local t0=$SECONDS
  "$@" 2>&1 | tee "$LOG_DIR/$name.log"
  local rc=${PIPESTATUS[0]}
  printf -- '--- %s: %s in %ss\n' "$name" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")" $((SECONDS - t0))
  if [ "$rc" -ne 0 ]; then
    failed_steps+=("$name")
  fi
  return "$rc"
}

# Adds the pass/fail counts a test runner printed to the totals.
count_tests() {
  local log=$1 p f
  if grep -qE '^[0-9]+ (passed|failed)' "$log"; then
    # pytest: "10 passed in 0.15s" / "1 failed, 9 passed in 0.2s"
    p=$(grep -oE '[0-9]+ passed' "$log" | awk '{p += $1} END {print p + 0}')
    f=$(grep -oE '[0-9]+ failed' "$log" | awk '{f += $1} END {print f + 0}')
  elif grep -qE '^# pass [0-9]+' "$log"; then
    # node:test: "# pass 9" / "# fail 0"
    p=$(grep -E '^# pass [0-9]+' "$log" | awk '{p += $3} END {print p + 0}')
    f=$(grep -E '^# fail [0-9]+' "$log" | awk '{f += $3} END {print f + 0}')
  elif grep -qE '^ *Summary \[' "$log"; then
    # nextest: "Summary [ 12.3s] 120 tests run: 118 passed, 2 failed, 0 skipped"
    p=$(grep -E '^ *Summary \[' "$log" | tail -1 | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
    f=$(grep -E '^ *Summary \[' "$log" | tail -1 | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)
  else
    # libtest: "test result: ok. 17 passed; 0 failed; ..." once per test binary.
    p=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' "$log" | awk '{p += $4} END {print p + 0}')
    f=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' "$log" | awk '{f += $6} END {print f + 0}')
  fi
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
}

# --- services ---------------------------------------------------------------------------------
# Each run starts from an empty test database (suites also isolate themselves per test).
if step services sh -c 'scripts/services.sh up && scripts/services.sh reset'; then
  eval "$(scripts/services.sh env)"
else
  echo "test.sh: the services the tests need did not start (see above); their suites will fail" >&2
fi
export STRONGROOM_TEST_REQUIRE_SERVICES=1

# Real peers some interop tests run against (PyJWT verifies our JWTs from the JWKS alone).
peers() {
  eval "$(STRONGROOM_PYJWT_VENV=$CARGO_TARGET_DIR/pyjwt-venv crates/session-store/bench/pyjwt-venv.sh)" || return 1
  echo "export STRONGROOM_PYJWT_PYTHON=$STRONGROOM_PYJWT_PYTHON" > "$LOG_DIR/peers.env"
}
step peers peers && . "$LOG_DIR/peers.env"
export STRONGROOM_TEST_REQUIRE_PYJWT=1

# The postmortem template ships twice (embedded in the crate, and as docs/postmortem.md).
step docs cmp docs/postmortem.md crates/postmortem-gen/templates/postmortem.md

# --- static checks ----------------------------------------------------------------------------
step fmt cargo fmt --all -- --check
step clippy cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

# --- tests ------------------------------------------------------------------------------------
# A service that failed to start makes its suites fail loudly below; the other suites still run.
if cargo nextest --version >/dev/null 2>&1; then
  step tests cargo nextest run --workspace --all-features --locked --no-fail-fast --failure-output final
else
  step tests cargo test --workspace --all-features --locked --no-fail-fast
fi
count_tests "$LOG_DIR/tests.log"
step doctests cargo test --workspace --all-features --locked --doc
count_tests "$LOG_DIR/doctests.log"

# Schema-driven fuzz of the server's API (schemathesis): no request may get a 5xx.
step fuzz env STRONGROOM_FUZZ_BIN="$CARGO_TARGET_DIR/debug/strongroom" scripts/fuzz-api.sh

# --- bindings ---------------------------------------------------------------------------------
python_bindings() {
  local venv=$CARGO_TARGET_DIR/bindings-venv
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || return 1
  "$venv/bin/pip" install -q --upgrade "maturin>=1.9,<2" "pytest>=7" || return 1
  cargo fmt --manifest-path bindings/python/Cargo.toml --check || return 1
  cargo clippy --manifest-path bindings/python/Cargo.toml --all-targets --locked -- -D warnings || return 1
  "$venv/bin/pip" install -q --force-reinstall --no-deps ./bindings/python || return 1
  # Run from outside the source tree so the installed package, not the source folder, is tested.
  (cd "$venv" && bin/python -m pytest -q "$ROOT/bindings/python/tests" && bin/python -m pytest -q --doctest-modules --pyargs strongroom) || return 1
  "$venv/bin/python" examples/python/share_and_verify.py
}

node_bindings() {
  cargo fmt --manifest-path bindings/node/Cargo.toml --check || return 1
  cargo clippy --manifest-path bindings/node/Cargo.toml --all-targets --locked -- -D warnings || return 1
  (cd bindings/node && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build:debug && npm test && npm run --silent typecheck) || return 1
  node examples/node/share_and_verify.mjs
}

step python python_bindings
count_tests "$LOG_DIR/python.log"
step node node_bindings
count_tests "$LOG_DIR/node.log"

# --- summary ----------------------------------------------------------------------------------
elapsed=$(($(date +%s) - started))
echo
if [ ${#failed_steps[@]} -eq 0 ]; then
  echo "test.sh: all steps passed in ${elapsed}s"
else
  echo "test.sh: FAILED steps: ${failed_steps[*]} (${elapsed}s)"
  # A failed step that ran no test (fmt, clippy, services) still counts as a failure.
  [ "$failed" -eq 0 ] && failed=${#failed_steps[@]}
fi
echo "summary: $passed passed, $failed failed"
[ ${#failed_steps[@]} -eq 0 ]
