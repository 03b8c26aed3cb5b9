#!/usr/bin/env bash
# Runs the load generator against a fresh Airlock on loopback, with
# production argon2id parameters, and prints the results. Bounded: it stops
# by itself. Usage: bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
go build -o "$dir/airlock" ./cmd/airlock
export AIRLOCK_DATABASE_URL="sqlite:$dir/bench.db" AIRLOCK_LISTEN=127.0.0.1:18081 AIRLOCK_PUBLIC_URL=http://127.0.0.1:18081
# The limits would stop a load from one address; the load measures the rest.
export AIRLOCK_LIMIT_FORGOT_PER_IP=0 AIRLOCK_LIMIT_RESET_PER_ACCOUNT=0 AIRLOCK_LIMIT_LOGIN_PER_EMAIL=0 AIRLOCK_LIMIT_LOGIN_PER_IP=0
export AIRLOCK_LOG_LEVEL=warn
echo 'bench password for the load' | "$dir/airlock" user add --email bench-user@example.com --group mobile --password-stdin >/dev/null
"$dir/airlock" user add --email bench-inactive@example.com >/dev/null
sqlite3 "$dir/bench.db" "UPDATE users SET active = 0 WHERE email = 'bench-inactive@example.com'" 2>/dev/null ||
  echo "(sqlite3 not installed: the inactive account stays active)"
"$dir/airlock" serve >"$dir/out.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:18081/healthz >/dev/null && break; sleep 0.1; done
go run ./bench/loadgen -scenario forgot -n "${FORGOT_N:-3000}" -c 8
go run ./bench/loadgen -scenario login -n "${LOGIN_N:-200}" -c "${LOGIN_C:-16}"
