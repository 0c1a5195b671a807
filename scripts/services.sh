#!/usr/bin/env bash
# Starts, stops and describes the real services Strongroom's tests run against.
#
#   scripts/services.sh up     [SERVICE...]   install when missing, start, wait until healthy (idempotent)
#   scripts/services.sh down   [SERVICE...]   stop what `up` started
#   scripts/services.sh status [SERVICE...]   one line per service, exit 1 if any is down
#   scripts/services.sh env    [SERVICE...]   print `export NAME=value` lines the tests read
#   scripts/services.sh reset  [SERVICE...]   empty the test data (PostgreSQL: recreate the test database)
#
# SERVICE is one of: postgres kafka s3 smtp webhooks tools (default: all of them). `tools` is no
# server: the command-line checkers some tests run (promtool, from Debian's prometheus package).
# `smtp` is no running server either: aiosmtpd from PyPI, in a venv of its own, which the mail
# tests start on a port of their own and read the delivered messages from. `webhooks` is the
# Standard Webhooks reference library (`standardwebhooks` from PyPI) in a venv of its own: the
# webhook tests run a receiver with it that verifies every delivery the server makes.
# Works as root on a fresh Debian machine. PostgreSQL comes from Debian's packages; the Kafka-protocol
# broker (tansu, about 10 minutes) and the S3-compatible store (Garage, about 8 minutes) are built from
# crates.io with `cargo install` the first time.
set -euo pipefail

ALL_SERVICES=(postgres kafka s3 smtp webhooks tools)

# PostgreSQL: a dedicated role and database, reachable over TCP on loopback.
PG_USER=strongroom
PG_PASSWORD=strongroom
PG_DB=strongroom_test
PG_PORT=${STRONGROOM_PG_PORT:-5432}

# Kafka-protocol broker: tansu, in-memory storage, on loopback.
KAFKA_PORT=${STRONGROOM_KAFKA_PORT:-9092}
TANSU_VERSION=0.6.0
STATE_DIR=${STRONGROOM_SERVICES_DIR:-/var/tmp/strongroom-services}

# S3-compatible object store: Garage, one node, SQLite metadata, on loopback. The test key is
# imported with fixed (test-only) credentials so that `env` needs no state.
S3_PORT=${STRONGROOM_S3_PORT:-3900}
GARAGE_RPC_PORT=${STRONGROOM_GARAGE_RPC_PORT:-3901}
GARAGE_ADMIN_PORT=${STRONGROOM_GARAGE_ADMIN_PORT:-3903}
GARAGE_VERSION=2.5.0
S3_BUCKET=strongroom-test
S3_KEY_ID=GK5374726f6e67726f6f6d5431
S3_SECRET=7374726f6e67726f6f6d2d746573742d7365637265742d6b65792d3030303030
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  log "installing $* from Debian's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- PostgreSQL ---------------------------------------------------------------------------------

pg_cluster() {
  # Prints "VERSION NAME" of the first cluster, if any.
  pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $1, $2}'
}

pg_psql() {
  as_root su postgres -c "psql -v ON_ERROR_STOP=1 -qtA -p $PG_PORT $*"
}

# A server killed with SIGKILL (as when a CI sandbox or session is torn down) leaves its socket
# lock file behind, and the next start refuses to run. Remove it only when no postgres process
# owns it any more.
remove_stale_pg_socket_lock() {
  local lock=/var/run/postgresql/.s.PGSQL.$PG_PORT.lock pid
  [ -f "$lock" ] || return 0
  pid=$(head -1 "$lock" 2>/dev/null | tr -d ' ')
  # A zombie (state Z) that nobody reaped still shows its name: it owns nothing any more.
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "postgres" ] \
    && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]; then
    return 0
  fi
  log "removing stale PostgreSQL socket lock (pid ${pid:-?} is gone)"
  as_root rm -f "$lock" "/var/run/postgresql/.s.PGSQL.$PG_PORT"
}

postgres_up() {
  if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt_install postgresql
  fi
  local cluster
  cluster=$(pg_cluster)
  if [ -z "$cluster" ]; then
    local version
    version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    log "creating PostgreSQL $version cluster 'main'"
    as_root pg_createcluster --port "$PG_PORT" "$version" main >/dev/null
    cluster="$version main"
  fi
  # shellcheck disable=SC2086
  set -- $cluster
  if ! pg_lsclusters --no-header | awk -v v="$1" -v n="$2" '$1==v && $2==n {print $4}' | grep -q online; then
    remove_stale_pg_socket_lock
    log "starting PostgreSQL $1/$2"
    as_root pg_ctlcluster "$1" "$2" start || die "PostgreSQL $1/$2 did not start (see /var/log/postgresql/)"
  fi
  local i
  for i in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
    sleep 0.5
    [ "$i" -eq 60 ] && die "PostgreSQL is not accepting connections on 127.0.0.1:$PG_PORT after 30 s"
  done
  if [ "$(pg_psql "-c \"SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'\"")" != "1" ]; then
    pg_psql "-c \"CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'\"" >/dev/null
  fi
  if [ "$(pg_psql "-c \"SELECT 1 FROM pg_database WHERE datname = '$PG_DB'\"")" != "1" ]; then
    pg_psql "-c \"CREATE DATABASE $PG_DB OWNER $PG_USER\"" >/dev/null
  fi
  PGPASSWORD=$PG_PASSWORD psql -qtA -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -c 'SELECT 1' >/dev/null \
    || die "cannot log in to PostgreSQL as $PG_USER over TCP"
  log "postgres ready on 127.0.0.1:$PG_PORT"
}

postgres_down() {
  local cluster
  cluster=$(pg_cluster)
  [ -n "$cluster" ] || return 0
  # shellcheck disable=SC2086
  set -- $cluster
  as_root pg_ctlcluster "$1" "$2" stop 2>/dev/null || true
}

postgres_status() {
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
    echo "postgres: up (127.0.0.1:$PG_PORT)"
  else
    echo "postgres: down"
    return 1
  fi
}

postgres_reset() {
  # The server's tests create one database each (sr_e2e_*, sr_api_*): drop the previous run's.
  local db
  for db in $(pg_psql "-c \"SELECT datname FROM pg_database WHERE datname LIKE 'sr\\_%'\""); do
    pg_psql "-c \"DROP DATABASE IF EXISTS $db WITH (FORCE)\"" >/dev/null
  done
  pg_psql "-c \"DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)\"" >/dev/null
  pg_psql "-c \"CREATE DATABASE $PG_DB OWNER $PG_USER\"" >/dev/null
  log "postgres: database $PG_DB recreated"
}

postgres_env() {
  echo "export STRONGROOM_TEST_POSTGRES_URL=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
}

# --- Kafka (tansu) -------------------------------------------------------------------------------

tansu_bin() {
  if [ -x "$CARGO_BIN/tansu" ]; then echo "$CARGO_BIN/tansu"; else command -v tansu || true; fi
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_started NAME CHECK...: waits up to 30 s for CHECK to succeed while the process recorded in
# $STATE_DIR/NAME.pid lives; its log ($STATE_DIR/NAME.log) explains an early exit.
wait_started() {
  local name=$1 i
  shift
  for i in $(seq 1 60); do
    "$@" && return 0
    kill -0 "$(cat "$STATE_DIR/$name.pid")" 2>/dev/null || die "$name exited at start: $(tail -5 "$STATE_DIR/$name.log")"
    sleep 0.5
  done
  die "$name is not ready after 30 s (see $STATE_DIR/$name.log)"
}

# stop_started NAME: stops what `up` started and recorded in $STATE_DIR/NAME.pid.
stop_started() {
  local pidfile="$STATE_DIR/$1.pid"
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
}

kafka_up() {
  local bin
  bin=$(tansu_bin)
  if [ -z "$bin" ]; then
    log "installing the tansu broker $TANSU_VERSION from crates.io (first time only, ~10 minutes)"
    command -v cargo >/dev/null || die "cargo is needed to install tansu"
    cargo install tansu --version "$TANSU_VERSION" --features dynostore --locked --quiet \
      || die "cargo install tansu failed"
    bin=$(tansu_bin)
  fi
  if port_open "$KAFKA_PORT"; then
    log "kafka already listening on 127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  mkdir -p "$STATE_DIR"
  log "starting tansu on 127.0.0.1:$KAFKA_PORT"
  nohup "$bin" broker \
    --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --storage-engine "memory://tansu/" \
    >"$STATE_DIR/tansu.log" 2>&1 &
  echo $! >"$STATE_DIR/tansu.pid"
  wait_started tansu port_open "$KAFKA_PORT"
  log "kafka ready on 127.0.0.1:$KAFKA_PORT"
}

kafka_down() {
  stop_started tansu
}

kafka_status() {
  if port_open "$KAFKA_PORT"; then
    echo "kafka: up (127.0.0.1:$KAFKA_PORT)"
  else
    echo "kafka: down"
    return 1
  fi
}

kafka_reset() {
  # In-memory storage and a unique topic per test: nothing to clear.
  return 0
}

kafka_env() {
  echo "export STRONGROOM_TEST_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  # Tests that stop a broker start their own from the same binary.
  local bin
  bin=$(tansu_bin)
  [ -z "$bin" ] || echo "export STRONGROOM_TEST_TANSU_BIN=$bin"
}

# --- S3 (Garage) -------------------------------------------------------------------------------

garage_bin() {
  if [ -x "$CARGO_BIN/garage" ]; then echo "$CARGO_BIN/garage"; else command -v garage || true; fi
}

garage_conf() { echo "$STATE_DIR/garage/garage.toml"; }

# garage_ready GARAGE_COMMAND...: the S3 port answers and the node reports its status.
garage_ready() { port_open "$S3_PORT" && "$@" status >/dev/null 2>&1; }

garage_write_conf() {
  local dir="$STATE_DIR/garage"
  mkdir -p "$dir/meta" "$dir/data"
  [ -f "$dir/rpc_secret" ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$dir/rpc_secret"
  [ -f "$dir/admin_token" ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$dir/admin_token"
  cat >"$(garage_conf)" <<CONF
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$GARAGE_RPC_PORT"
rpc_public_addr = "127.0.0.1:$GARAGE_RPC_PORT"
rpc_secret = "$(cat "$dir/rpc_secret")"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$S3_PORT"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$GARAGE_ADMIN_PORT"
admin_token = "$(cat "$dir/admin_token")"
CONF
  chmod 600 "$(garage_conf)"
}

s3_up() {
  local bin
  bin=$(garage_bin)
  if [ -z "$bin" ]; then
    log "installing Garage $GARAGE_VERSION from crates.io (first time only, ~8 minutes)"
    command -v cargo >/dev/null || die "cargo is needed to install garage"
    cargo install garage --version "$GARAGE_VERSION" --no-default-features --features bundled-libs,sqlite \
      --locked --quiet || die "cargo install garage failed"
    bin=$(garage_bin)
  fi
  garage_write_conf
  local g=("$bin" -c "$(garage_conf)")
  if ! port_open "$S3_PORT"; then
    log "starting garage on 127.0.0.1:$S3_PORT"
    nohup "${g[@]}" server >"$STATE_DIR/garage.log" 2>&1 &
    echo $! >"$STATE_DIR/garage.pid"
    wait_started garage garage_ready "${g[@]}"
  fi
  if [ ! -f "$STATE_DIR/garage/layout.done" ]; then
    local node
    node=$("${g[@]}" node id -q 2>/dev/null | cut -d@ -f1)
    [ -n "$node" ] || die "cannot read the garage node id"
    "${g[@]}" layout assign -z dc1 -c 1G "$node" >/dev/null || die "garage layout assign failed"
    "${g[@]}" layout apply --version 1 >/dev/null || die "garage layout apply failed"
    touch "$STATE_DIR/garage/layout.done"
  fi
  "${g[@]}" bucket info "$S3_BUCKET" >/dev/null 2>&1 || "${g[@]}" bucket create "$S3_BUCKET" >/dev/null \
    || die "garage bucket create failed"
  "${g[@]}" key info "$S3_KEY_ID" >/dev/null 2>&1 || "${g[@]}" key import --yes -n strongroom-test "$S3_KEY_ID" "$S3_SECRET" >/dev/null \
    || die "garage key import failed"
  "${g[@]}" bucket allow --read --write --owner "$S3_BUCKET" --key "$S3_KEY_ID" >/dev/null \
    || die "garage bucket allow failed"
  log "s3 ready on 127.0.0.1:$S3_PORT (bucket $S3_BUCKET)"
}

s3_down() {
  stop_started garage
}

s3_status() {
  if port_open "$S3_PORT"; then
    echo "s3: up (127.0.0.1:$S3_PORT, bucket $S3_BUCKET)"
  else
    echo "s3: down"
    return 1
  fi
}

s3_reset() {
  # Object keys are unique ids (UUIDv7): runs never collide, so nothing to clear.
  return 0
}

s3_env() {
  echo "export STRONGROOM_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT"
  echo "export STRONGROOM_TEST_S3_BUCKET=$S3_BUCKET"
  echo "export STRONGROOM_TEST_S3_REGION=garage"
  echo "export STRONGROOM_TEST_S3_ACCESS_KEY_ID=$S3_KEY_ID"
  echo "export STRONGROOM_TEST_S3_SECRET_ACCESS_KEY=$S3_SECRET"
}

# --- smtp -------------------------------------------------------------------------------------

AIOSMTPD_VERSION=1.4.6

smtp_python() {
  local py="$STATE_DIR/smtp-venv/bin/python"
  if [ -x "$py" ] && "$py" -c 'import aiosmtpd' 2>/dev/null; then echo "$py"; fi
}

smtp_up() {
  [ -n "$(smtp_python)" ] && return 0
  log "installing aiosmtpd $AIOSMTPD_VERSION from PyPI into $STATE_DIR/smtp-venv"
  mkdir -p "$STATE_DIR"
  python3 -m venv "$STATE_DIR/smtp-venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  "$STATE_DIR/smtp-venv/bin/pip" install -q "aiosmtpd==$AIOSMTPD_VERSION" || die "pip install aiosmtpd failed"
  [ -n "$(smtp_python)" ] || die "aiosmtpd does not import after installing it"
  log "aiosmtpd ready: $(smtp_python) -m aiosmtpd"
}

smtp_down() { return 0; }

smtp_status() {
  if [ -n "$(smtp_python)" ]; then
    echo "smtp: aiosmtpd in $(smtp_python)"
  else
    echo "smtp: aiosmtpd missing"
    return 1
  fi
}

smtp_reset() { return 0; }

smtp_env() {
  local py
  py=$(smtp_python)
  [ -z "$py" ] || echo "export STRONGROOM_TEST_AIOSMTPD_PYTHON=$py"
}

# --- webhooks ---------------------------------------------------------------------------------

STANDARDWEBHOOKS_VERSION=1.1.0

webhooks_python() {
  local py="$STATE_DIR/webhooks-venv/bin/python"
  if [ -x "$py" ] && "$py" -c 'import standardwebhooks' 2>/dev/null; then echo "$py"; fi
}

webhooks_up() {
  [ -n "$(webhooks_python)" ] && return 0
  log "installing standardwebhooks $STANDARDWEBHOOKS_VERSION from PyPI into $STATE_DIR/webhooks-venv"
  mkdir -p "$STATE_DIR"
  python3 -m venv "$STATE_DIR/webhooks-venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  "$STATE_DIR/webhooks-venv/bin/pip" install -q "standardwebhooks==$STANDARDWEBHOOKS_VERSION" \
    || die "pip install standardwebhooks failed"
  [ -n "$(webhooks_python)" ] || die "standardwebhooks does not import after installing it"
  log "standardwebhooks ready: $(webhooks_python)"
}

webhooks_down() { return 0; }

webhooks_status() {
  if [ -n "$(webhooks_python)" ]; then
    echo "webhooks: standardwebhooks in $(webhooks_python)"
  else
    echo "webhooks: standardwebhooks missing"
    return 1
  fi
}

webhooks_reset() { return 0; }

webhooks_env() {
  local py
  py=$(webhooks_python)
  [ -z "$py" ] || echo "export STRONGROOM_TEST_WEBHOOKS_PYTHON=$py"
}

# --- tools ------------------------------------------------------------------------------------

# promtool (`promtool check metrics` lints the server's /metrics). Only the binary is taken out
# of Debian's prometheus package: no Prometheus server is installed or started.
promtool_bin() {
  if command -v promtool >/dev/null 2>&1; then
    command -v promtool
  elif [ -x "$STATE_DIR/tools/usr/bin/promtool" ]; then
    echo "$STATE_DIR/tools/usr/bin/promtool"
  fi
}

tools_up() {
  [ -n "$(promtool_bin)" ] && return 0
  log "fetching promtool from Debian's prometheus package"
  local tmp
  tmp=$(mktemp -d)
  chmod 755 "$tmp" # apt's download user writes there
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  (cd "$tmp" && apt-get download -qq prometheus >/dev/null) || { rm -rf "$tmp"; die "apt-get download prometheus failed"; }
  mkdir -p "$STATE_DIR/tools"
  dpkg-deb -x "$tmp"/prometheus_*.deb "$STATE_DIR/tools"
  rm -rf "$tmp"
  [ -n "$(promtool_bin)" ] || die "promtool not found in the prometheus package"
  log "promtool ready: $(promtool_bin)"
}

tools_down() { return 0; }

tools_status() {
  if [ -n "$(promtool_bin)" ]; then
    echo "tools: promtool at $(promtool_bin)"
  else
    echo "tools: promtool missing"
    return 1
  fi
}

tools_reset() { return 0; }

tools_env() {
  local bin
  bin=$(promtool_bin)
  [ -z "$bin" ] || echo "export STRONGROOM_TEST_PROMTOOL=$bin"
}

# --- dispatch -----------------------------------------------------------------------------------

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  local services=("$@")
  [ ${#services[@]} -gt 0 ] || services=("${ALL_SERVICES[@]}")
  local s
  for s in "${services[@]}"; do
    case " ${ALL_SERVICES[*]} " in *" $s "*) ;; *) die "unknown service '$s' (known: ${ALL_SERVICES[*]})" ;; esac
  done
  case "$cmd" in
    up) for s in "${services[@]}"; do "${s}_up"; done ;;
    down) for s in "${services[@]}"; do "${s}_down"; done ;;
    status)
      local rc=0
      for s in "${services[@]}"; do "${s}_status" || rc=1; done
      return $rc
      ;;
    env) for s in "${services[@]}"; do "${s}_env"; done ;;
    reset) for s in "${services[@]}"; do "${s}_reset"; done ;;
    *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

main "$@"
