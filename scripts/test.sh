#!/usr/bin/env bash
# THE test command: what CI runs and what a contributor runs before pushing.
#
#   scripts/test.sh
#
# 1. starts the real services the tests need (scripts/services.sh up: installs them when missing)
# 2. cargo fmt --check, cargo clippy -D warnings over every target and feature
# 3. every workspace test (cargo-nextest when present, else cargo test), then the doctests
#
# Service-backed suites never skip here: STRONGROOM_TEST_REQUIRE_SERVICES=1 turns a missing
# service into a failing test. Exits non-zero on any failure and ends with one summary line.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOG_DIR=$(mktemp -d)
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
  # nextest: "Summary [ 12.3s] 120 tests run: 118 passed, 2 failed, 0 skipped"
  if grep -qE '^ *Summary \[' "$log"; then
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
if step services scripts/services.sh up; then
  eval "$(scripts/services.sh env)"
else
  echo "test.sh: the services the tests need did not start (see above); their suites will fail" >&2
fi
export STRONGROOM_TEST_REQUIRE_SERVICES=1

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
