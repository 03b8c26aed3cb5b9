#!/usr/bin/env bash
# Measures what a person waits for their reset email on three nodes of one
# PostgreSQL (issue 22): from the moment the API answered their request to
# the moment the message was all in at the SMTP server (a sink inside the
# load generator, bench/loadgen -scenario latency). Two runs:
#
#   quiet     QUIET_N requests, QUIET_RATE a second, round-robin over the
#             nodes: p50, p95
#   kill      KILL_N requests at once (64 clients), and KILL_AFTER seconds
#             after they start, kill -9 of the node with the most open
#             connections to the SMTP server (the one most likely in the
#             middle of a mail batch); its requests go to the other nodes
#             from then on, and its leased work is taken over after the 30 s
#             lease. The run waits for every answered account's email, and
#             45 s more for second copies.
#
# Production settings but for the limits (off: the load comes from one
# address); AIRLOCK_SECRET_KEY is set (random), so that an email sent again
# after a node died is the same message. Loopback only; every node and the
# database are removed at the end. About 3 minutes. Usage:
#   bash bench/nodes.sh
# The SMTP server answers each message after a random wait of up to
# RELAY_DELAY, as a real relay takes its time (the time a message arrived is
# taken before that wait); a node killed during it had handed the message
# over without hearing back, which is how an email comes twice.
# Settings: QUIET_N (200), QUIET_RATE (5), KILL_N (1000), KILL_AFTER (0.7),
# RELAY_DELAY (100ms),
# BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable;
# a database airlock_nodes_PID is created there and dropped at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

QUIET_N=${QUIET_N:-200}
QUIET_RATE=${QUIET_RATE:-5}
KILL_N=${KILL_N:-1000}
KILL_AFTER=${KILL_AFTER:-0.7}
RELAY_DELAY=${RELAY_DELAY:-100ms}
PGURL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
PGDB=airlock_nodes_$$
PORTS=(18081 18082 18083)
METRICS_PORTS=(19081 19082 19083)
SMTP_PORT=18025
URLS=$(printf 'http://127.0.0.1:%s,' "${PORTS[@]}")
URLS=${URLS%,}

dir=$(mktemp -d)
pids=()
lgpid=""
pgmade=""
cleanup() {
  local p
  [ -n "$lgpid" ] && kill "$lgpid" 2>/dev/null || true
  for p in "${pids[@]}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
  done
  [ -n "$pgmade" ] && psql "$PGURL" -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

go build -o "$dir/airlock" ./cmd/airlock
go build -o "$dir/loadgen" ./bench/loadgen

psql "$PGURL" -qc "CREATE DATABASE $PGDB" >/dev/null
pgmade=1
base=${PGURL%%\?*}
query=${PGURL#"$base"}
export AIRLOCK_DATABASE_URL="${base%/*}/$PGDB$query"
export AIRLOCK_PUBLIC_URL=http://127.0.0.1:${PORTS[0]}
export AIRLOCK_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT
AIRLOCK_SECRET_KEY=$(head -c 32 /dev/urandom | base64)
export AIRLOCK_SECRET_KEY
# The limits would stop a load from one address; the load measures the rest.
export AIRLOCK_LIMIT_FORGOT_PER_IP=0 AIRLOCK_LIMIT_RESET_PER_ACCOUNT=0 AIRLOCK_LIMIT_LOGIN_PER_EMAIL=0 AIRLOCK_LIMIT_LOGIN_PER_IP=0
export AIRLOCK_LOG_LEVEL=warn

# Accounts quiet-0 … and batch-0 …, one set for each run.
{
  echo "email,first_name,last_name,language,groups"
  for i in $(seq 0 $((QUIET_N - 1))); do echo "quiet-$i@example.com,Quiet,$i,en,"; done
  for i in $(seq 0 $((KILL_N - 1))); do echo "batch-$i@example.com,Batch,$i,en,"; done
} >"$dir/accounts.csv"
"$dir/airlock" user import "$dir/accounts.csv" >/dev/null 2>&1

for k in 0 1 2; do
  AIRLOCK_LISTEN=127.0.0.1:${PORTS[$k]} AIRLOCK_METRICS_LISTEN=127.0.0.1:${METRICS_PORTS[$k]} \
    "$dir/airlock" serve >"$dir/node$k.log" 2>&1 &
  pids[k]=$!
done
for k in 0 1 2; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:${PORTS[$k]}/healthz" >/dev/null && continue 2; sleep 0.1; done
  echo "node $k did not start:"; cat "$dir/node$k.log"; exit 1
done

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" | tail -1; }

echo "== quiet: $QUIET_N reset requests at $QUIET_RATE/s over 3 nodes, relay delay up to $RELAY_DELAY =="
"$dir/loadgen" -scenario latency -urls "$URLS" -smtp 127.0.0.1:$SMTP_PORT -format 'quiet-%d@example.com' \
  -n "$QUIET_N" -rate "$QUIET_RATE" -c 4 -relay-delay "$RELAY_DELAY" -settle 2s -max-time 3m | tee "$dir/quiet.out"

echo
echo "== kill: $KILL_N reset requests at once over 3 nodes, kill -9 of one node after ${KILL_AFTER}s, relay delay up to $RELAY_DELAY =="
"$dir/loadgen" -scenario latency -urls "$URLS" -smtp 127.0.0.1:$SMTP_PORT -format 'batch-%d@example.com' \
  -n "$KILL_N" -c 64 -relay-delay "$RELAY_DELAY" -settle 45s -max-time 3m >"$dir/kill.out" &
lgpid=$!
sleep "$KILL_AFTER"
# The node with the most connections open to the SMTP server.
victim=0 most=-1
for k in 0 1 2; do
  n=$(ss -Htnp state established "dst 127.0.0.1:$SMTP_PORT" | grep -c "pid=${pids[$k]}," || true)
  echo "   node $k (port ${PORTS[$k]}): $n connections to the SMTP server"
  if [ "$n" -gt "$most" ]; then victim=$k most=$n; fi
done
kill -9 "${pids[$victim]}"
wait "${pids[$victim]}" 2>/dev/null || true
pids[victim]=""
echo "   killed node $victim (port ${PORTS[$victim]}) at ${KILL_AFTER}s"
wait "$lgpid"
lgpid=""
cat "$dir/kill.out"

echo
echo "== after the kill =="
for k in 0 1 2; do
  [ -z "${pids[$k]}" ] && continue
  echo "   node $k: $(curl -s "http://127.0.0.1:${METRICS_PORTS[$k]}/metrics" | grep '^airlock_job_lease_takeovers_total' || echo 'no takeover metric')"
done
echo "   jobs left by kind and state:"
psql "$AIRLOCK_DATABASE_URL" -Atc "SELECT '     ' || kind || ' ' || state || ': ' || count(*) FROM jobs GROUP BY kind, state ORDER BY kind, state"
echo "   jobs taken over, by kind (a forgot job holds the requests one transaction accepted; a mail job, one email):"
sed -n 's/.*msg="job taken over[^"]*".* kind=\([^ ]*\).*/\1/p' "$dir"/node*.log | sort | uniq -c | sed 's/^/     /'
echo "   warnings and errors in the nodes' logs:"
sed -n 's/.*level=\([A-Z]*\) msg=\("[^"]*"\|[^ ]*\).*/\1 \2/p' "$dir"/node*.log | sort | uniq -c | sed 's/^/     /'

echo
echo "== summary ($(date -u +%Y-%m-%d), $(nproc) cores, $(go env GOVERSION)) =="
q=$(grep '^result' "$dir/quiet.out")
x=$(grep '^result' "$dir/kill.out")
for name in quiet kill; do
  r=$q
  [ "$name" = kill ] && r=$x
  echo "$name: p50 $(echo "$r" | field p50_ms) ms, p95 $(echo "$r" | field p95_ms) ms, p99 $(echo "$r" | field p99_ms) ms, max $(echo "$r" | field max_ms) ms;" \
    "$(echo "$r" | field delivered) of $(echo "$r" | field answered) answered delivered, $(echo "$r" | field missing) missing," \
    "$(echo "$r" | field twice) twice ($(echo "$r" | field twice_same_id) same Message-ID, $(echo "$r" | field twice_other_id) another);" \
    "$(echo "$r" | field over_10s) over 10 s; broke in flight $(echo "$r" | field in_flight), sent on $(echo "$r" | field redirected); 500=$(echo "$r" | field s500) 503=$(echo "$r" | field s503)"
done
