#!/usr/bin/env bash
# Start time and idle memory of `airlock serve` on its embedded defaults
# (SQLite file, dev mailbox), on loopback: the time from exec to the first
# /healthz answer, on a fresh database (migrations included) and on one
# already made, and the resident memory (VmRSS) after 5 s idle. Five runs;
# the median of each. Usage: bash bench/startmem.sh [BINARY]
# (default: built from this tree).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
bin=${1:-}
if [ -z "$bin" ]; then
  go build -o "$dir/airlock" ./cmd/airlock
  bin=$dir/airlock
fi
port=$((19000 + RANDOM % 900))
export AIRLOCK_LISTEN=127.0.0.1:$port AIRLOCK_PUBLIC_URL=http://127.0.0.1:$port AIRLOCK_LOG_LEVEL=warn
now_ms() { date +%s%3N; }
start() { # start DB: sets pid, and elapsed to the milliseconds until /healthz answers
  local t0
  t0=$(now_ms)
  AIRLOCK_DATABASE_URL="sqlite:$1" "$bin" serve >"$dir/serve.log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/serve.log"; exit 1; }
    sleep 0.005
  done
  elapsed=$(($(now_ms) - t0))
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
fresh=() warm=() rss=()
for i in 1 2 3 4 5; do
  db=$dir/run$i.db
  start "$db"
  fresh+=("$elapsed")
  stop
  start "$db"
  warm+=("$elapsed")
  sleep 5
  rss+=("$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")")
  stop
done
echo "start, fresh database: $(printf '%s\n' "${fresh[@]}" | median) ms (runs: ${fresh[*]})"
echo "start, existing database: $(printf '%s\n' "${warm[@]}" | median) ms (runs: ${warm[*]})"
echo "idle RSS after 5 s: $(printf '%s\n' "${rss[@]}" | median) MiB (runs: ${rss[*]})"
