#!/usr/bin/env bash
# Measures Airlock against its ceilings in the same run, on this machine, on
# loopback only, and prints the ratios of issue 14:
#
#   forgot    POST /api/v1/password/forgot (64 clients, half existing, half
#             unknown addresses, limits off) vs a bare net/http handler
#             answering the same 202 (bench/bare), on SQLite and PostgreSQL;
#             the known-vs-unknown timing (Mann-Whitney) at 64 and 4 clients
#   sign-in   the API password grant at 2 x cores clients vs raw argon2id at
#             the same parameters on every core, with p99 and statuses
#   burst     500 sign-ins at once on a fresh server: peak RSS and answers
#   emails    1,000 reset emails to 1,000 accounts, from the first request to
#             the last message received by a local SMTP sink
#
# Every load stops by itself. Usage:
#   bash bench/compare.sh [sqlite] [postgres] [signin] [burst] [emails]
# (no argument: all of them). PostgreSQL is BENCH_POSTGRES_URL, default
# postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable; a database
# airlock_bench_PID is created there and dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(sqlite postgres signin burst emails)
want() { local p; for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
CLIENTS=${CLIENTS:-64}
CORES=$(nproc)
PGURL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
PGDB=airlock_bench_$$
PORT=18081
BARE_PORT=18090
SMTP_PORT=18025

dir=$(mktemp -d)
apid=""
bpid=""
pgmade=""
cleanup() {
  [ -n "$apid" ] && kill "$apid" 2>/dev/null && wait "$apid" 2>/dev/null || true
  [ -n "$bpid" ] && kill "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null || true
  [ -n "$pgmade" ] && psql "$PGURL" -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

go build -o "$dir/airlock" ./cmd/airlock
go build -o "$dir/loadgen" ./bench/loadgen
go build -o "$dir/bare" ./bench/bare
lg() { "$dir/loadgen" "$@" | tee -a "$dir/all.log"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

export AIRLOCK_LISTEN=127.0.0.1:$PORT AIRLOCK_PUBLIC_URL=http://127.0.0.1:$PORT
# The limits would stop a load from one address; the load measures the rest.
export AIRLOCK_LIMIT_FORGOT_PER_IP=0 AIRLOCK_LIMIT_RESET_PER_ACCOUNT=0 AIRLOCK_LIMIT_LOGIN_PER_EMAIL=0 AIRLOCK_LIMIT_LOGIN_PER_IP=0
export AIRLOCK_LOG_LEVEL=warn

# A CSV of 1,000 accounts (bench-0 … bench-999), for the emails.
{
  echo "email,first_name,last_name,language,groups"
  for i in $(seq 0 999); do echo "bench-$i@example.com,Bench,$i,en,"; done
} >"$dir/accounts.csv"

# fresh DBURL: an empty database with the sign-in account and 1,000 accounts.
fresh() {
  case "$1" in
  sqlite)
    rm -f "$dir"/bench.db*
    export AIRLOCK_DATABASE_URL="sqlite:$dir/bench.db"
    ;;
  postgres)
    psql "$PGURL" -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null
    psql "$PGURL" -qc "CREATE DATABASE $PGDB" >/dev/null
    pgmade=1
    local base=${PGURL%%\?*}
    local query=${PGURL#"$base"}
    export AIRLOCK_DATABASE_URL="${base%/*}/$PGDB$query"
    ;;
  esac
  echo 'bench password for the load' | "$dir/airlock" user add --email bench-user@example.com --group mobile --password-stdin >/dev/null
  "$dir/airlock" user import "$dir/accounts.csv" >/dev/null 2>&1
}

start_airlock() {
  "$dir/airlock" serve >"$dir/serve.log" 2>&1 &
  apid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done
  echo "airlock did not start:"; cat "$dir/serve.log"; exit 1
}
stop_airlock() { kill "$apid"; wait "$apid" 2>/dev/null || true; apid=""; }

summary=()
say() { summary+=("$1"); }

forgot() {
  local db=$1
  echo "== forgot, $db: bare handler vs Airlock, $CLIENTS clients, $DURATION each =="
  fresh "$db"
  "$dir/bare" -listen 127.0.0.1:$BARE_PORT & bpid=$!
  start_airlock
  sleep 0.5
  local b1 a1 b2 a2
  b1=$(lg -url http://127.0.0.1:$BARE_PORT -scenario api-forgot -c "$CLIENTS" -duration "$DURATION" -warmup "$WARMUP" -accounts 1000 | field rps)
  a1=$(lg -scenario api-forgot -c "$CLIENTS" -duration "$DURATION" -warmup "$WARMUP" -accounts 1000 | tee "$dir/a1" | field rps)
  b2=$(lg -url http://127.0.0.1:$BARE_PORT -scenario api-forgot -c "$CLIENTS" -duration "$DURATION" -warmup "$WARMUP" -accounts 1000 | field rps)
  a2=$(lg -scenario api-forgot -c "$CLIENTS" -duration "$DURATION" -warmup "$WARMUP" -accounts 1000 | tee "$dir/a2" | field rps)
  echo "-- timing at 4 clients --"
  lg -scenario api-forgot -c 4 -duration 3s -warmup 500ms -accounts 1000 >"$dir/low"
  cat "$dir/low"
  kill "$bpid"; wait "$bpid" 2>/dev/null || true; bpid=""
  stop_airlock
  local bare air
  bare=$(awk -v x="$b1" -v y="$b2" 'BEGIN { printf "%.0f", (x + y) / 2 }')
  air=$(awk -v x="$a1" -v y="$a2" 'BEGIN { printf "%.0f", (x + y) / 2 }')
  say "forgot $db: Airlock $air req/s vs bare $bare req/s: ratio $(ratio "$air" "$bare") (rounds: $(ratio "$a1" "$b1"), $(ratio "$a2" "$b2"))"
  say "  timing $db at $CLIENTS clients: Mann-Whitney p=$(field mw_p <"$dir/a2"), median difference $(field median_diff_ms <"$dir/a2") ms; statuses 202=$(field s202 <"$dir/a2") 500=$(field s500 <"$dir/a2") 503=$(field s503 <"$dir/a2")"
  say "  timing $db at 4 clients: Mann-Whitney p=$(field mw_p <"$dir/low"), median difference $(field median_diff_ms <"$dir/low") ms"
}

signin() {
  echo "== sign-in: raw argon2id on every core vs the password grant at $((2 * CORES)) clients =="
  fresh sqlite
  start_airlock
  local raw out
  raw=$(lg -scenario argon2 -duration 5s | field hps)
  out=$(lg -scenario login -c $((2 * CORES)) -duration 10s -warmup 2s)
  stop_airlock
  say "sign-in: $(echo "$out" | field rps) req/s vs raw argon2id $raw hashes/s: ratio $(ratio "$(echo "$out" | field rps)" "$raw"); p99 $(echo "$out" | field p99_ms) ms; 200=$(echo "$out" | field s200) 500=$(echo "$out" | field s500) 503=$(echo "$out" | field s503)"
}

burst() {
  echo "== burst: 500 sign-ins at once on a fresh server =="
  fresh sqlite
  start_airlock
  local out
  out=$(lg -scenario burst -c 500 -pid "$apid")
  stop_airlock
  say "burst of 500 sign-ins: peak RSS $(echo "$out" | field peak_rss_mib) MiB; 200=$(echo "$out" | field s200) 503=$(echo "$out" | field s503) other=$(echo "$out" | field other) 503-without-Retry-After=$(echo "$out" | field no_retry_after)"
}

emails() {
  local db=$1
  echo "== emails, $db: 1,000 reset emails to 1,000 accounts through a local SMTP sink =="
  fresh "$db"
  AIRLOCK_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT start_airlock
  local out
  out=$(lg -scenario emails -n 1000 -c "$CLIENTS" -smtp 127.0.0.1:$SMTP_PORT)
  stop_airlock
  say "emails $db: $(echo "$out" | field delivered) of 1000 delivered in $(echo "$out" | field seconds) s (requests answered in $(echo "$out" | field answered_s) s; $(echo "$out" | field twice) twice; $(echo "$out" | field smtp_connections) SMTP connections)"
}

want sqlite && forgot sqlite
want postgres && forgot postgres
want signin && signin
want burst && burst
if want emails; then
  emails sqlite
  emails postgres
fi

echo
echo "== summary ($(date -u +%Y-%m-%d), $CORES cores, $(go env GOVERSION)) =="
printf '%s\n' "${summary[@]}"
