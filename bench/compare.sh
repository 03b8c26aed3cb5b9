#!/usr/bin/env bash
# Measures Airlock against its ceilings in the same run, on this machine, on
# loopback only, and prints the ratios of issue 14:
#
#   forgot    POST /api/v1/password/forgot (64 clients, half existing, half
#             unknown addresses, limits off) vs a bare net/http handler
#             answering the same 202 (bench/bare), on SQLite and PostgreSQL,
#             ROUNDS times each in turn; the known-vs-unknown timing
#             (Mann-Whitney) at 64 and 4 clients
#   sign-in   the API password grant at 2 x cores clients vs raw argon2id at
#             the same parameters on every core, in turn, ROUNDS times; p99
#             and statuses
#   burst     500 sign-ins at once on a fresh server: peak RSS and answers
#   emails    1,000 reset emails to 1,000 accounts, from the first request to
#             the last message received by a local SMTP sink
#   flood     issue 23: production settings, limits on, every request from an
#             address of its own (X-Forwarded-For from a trusted 127.0.0.1);
#             FLOOD_DURATION (20s) of forgot requests by CLIENTS clients, 9 in
#             10 for no account, 1 in 10 for bench-N; meanwhile twice a second
#             a person the flood never names asks for a link: their latency
#             from answer to SMTP sink during the flood and from 5 s after it
#             (for 15 s more), the backlog left when the flood ends, the CPU
#             per accepted request, and the flood's answered rate against the
#             bare handler's, measured just before; SQLite on one node, then
#             PostgreSQL on three (about 3 minutes; not run without arguments;
#             PROFILE=1 also records the nodes with perf during the flood,
#             which takes CPU from them: not for the figures; PPROF=DIR
#             builds Airlock with the benchprofile tag and writes each
#             node's Go CPU profile of the flood, and what it allocated, to
#             DIR, for go tool pprof)
#
# Each ratio is also given per CPU-second of each side (from /proc), which
# moves less with what else a shared machine runs. The forgot figures come
# with a sustained rate as well: a round's requests over the time until
# Airlock has done their work (looked them up, sent the emails), which is
# what a flood held for long gets; the answered rate alone rewards leaving
# the work for later.
#
# Every load stops by itself (about 8 minutes in all, flood aside: after each forgot
# round Airlock is given the time to work through the queue the round built,
# before the bare handler is measured again). Usage:
#   bash bench/compare.sh [sqlite] [postgres] [signin] [burst] [emails] [flood]
# (no argument: all of them but flood; flood-sqlite or flood-postgres run one
# half of flood). BENCH_AIRLOCK_BIN=PATH measures that build of airlock instead of
# building this tree's (to compare two builds, alternately). Settings: DURATION (5s), WARMUP (1s),
# ROUNDS (3), CLIENTS (64), BENCH_LOG_LEVEL (warn; info is serve's default: a line per
# audit event). PostgreSQL is BENCH_POSTGRES_URL, default
# postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable; a database
# airlock_bench_PID is created there and dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(sqlite postgres signin burst emails)
want() { local p; for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-64}
CORES=$(nproc)
PGURL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
PGDB=airlock_bench_$$
FLOOD_DURATION=${FLOOD_DURATION:-20s}
PROFILE=${PROFILE:-}
PPROF=${PPROF:-}
# The ports (BENCH_PORT_BASE+81, +60, +90, +25): another base lets two runs
# share the machine.
base=${BENCH_PORT_BASE:-18000}
PORT=$((base + 81))
PPROF_PORT=$((base + 60))
BARE_PORT=$((base + 90))
SMTP_PORT=$((base + 25))

dir=$(mktemp -d)
apid=""
bpid=""
npids=()
pgmade=""
cleanup() {
  local p
  [ -n "$apid" ] && kill "$apid" 2>/dev/null && wait "$apid" 2>/dev/null || true
  for p in "${npids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  [ -n "$bpid" ] && kill "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null || true
  [ -n "$pgmade" ] && psql "$PGURL" -qc "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

[ -n "$PPROF" ] && mkdir -p "$PPROF"
if [ -n "${BENCH_AIRLOCK_BIN:-}" ]; then
  cp "$BENCH_AIRLOCK_BIN" "$dir/airlock"
elif [ -n "$PPROF" ]; then
  go build -tags benchprofile -o "$dir/airlock" ./cmd/airlock
else
  go build -o "$dir/airlock" ./cmd/airlock
fi
go build -o "$dir/loadgen" ./bench/loadgen
go build -o "$dir/bare" ./bench/bare
# Airlock's URL first: a later -url (the bare handler's) wins.
lg() { "$dir/loadgen" -url "http://127.0.0.1:$PORT" "$@" | tee -a "$dir/all.log"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

export AIRLOCK_LISTEN=127.0.0.1:$PORT AIRLOCK_PUBLIC_URL=http://127.0.0.1:$PORT
# The limits would stop a load from one address; the load measures the rest.
export AIRLOCK_LIMIT_FORGOT_PER_IP=0 AIRLOCK_LIMIT_RESET_PER_ACCOUNT=0 AIRLOCK_LIMIT_LOGIN_PER_EMAIL=0 AIRLOCK_LIMIT_LOGIN_PER_IP=0
export AIRLOCK_LOG_LEVEL=${BENCH_LOG_LEVEL:-warn}

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

# wait_idle PID waits (at most 300 s) until PID uses less than 5% of a core
# and the whole machine less than 20% of one, for 2 s on end, and says how
# long the work went on. After a forgot load Airlock's workers go on working
# through the queue the load built; measured during that, the bare handler
# would share the cores with them and look slower than it is, which made the
# ratios of the later rounds look better than they are. (Half a second of
# Airlock alone proved too short on PostgreSQL: the workers, waiting on the
# database, were taken for idle.)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# busy_ticks: the whole machine's busy CPU ticks (PostgreSQL's work too).
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
wait_idle() {
  local pid=$1 prev now sprev snow i quiet streak=0
  quiet=$(( $(getconf CLK_TCK) / 40 ))
  prev=$(cpu_ticks "$pid")
  sprev=$(busy_ticks)
  for i in $(seq 600); do
    sleep 0.5
    now=$(cpu_ticks "$pid")
    snow=$(busy_ticks)
    # Idle: Airlock below 5% of a core, and the machine below 20% of one
    # (a PostgreSQL busy with the workers' statements, or a pause of them
    # all at a checkpoint, is not idle), for 2 s on end.
    if [ $((now - prev)) -le "$quiet" ] && [ $((snow - sprev)) -le $((4 * quiet)) ]; then
      streak=$((streak + 1))
    else
      streak=0
    fi
    prev=$now
    sprev=$snow
    if [ "$streak" -ge 4 ]; then
      idle_s=$(awk -v i="$i" 'BEGIN { printf "%.1f", (i - 4) / 2 }')
      echo "   (Airlock idle again after $idle_s s)"
      return 0
    fi
  done
  idle_s=300
  echo "   warning: Airlock still busy after 300 s" >&2
}
# seconds DURATION: the seconds in a Go duration such as 5s or 500ms.
seconds() { case "$1" in *ms) awk -v v="${1%ms}" 'BEGIN { print v / 1000 }' ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac; }

# median of the numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
list() { tr '\n' ' ' | sed 's/ $//'; }

# forgot DB: the bare handler and Airlock, alternately, ROUNDS times each.
# The ratio of req/s is the issue's; the ratio of requests per CPU-second
# of each server tells the same with less of what else the machine runs.
forgot() {
  local db=$1
  echo "== forgot, $db: bare handler vs Airlock, $CLIENTS clients, $DURATION each, $ROUNDS rounds =="
  fresh "$db"
  "$dir/bare" -listen 127.0.0.1:$BARE_PORT & bpid=$!
  start_airlock
  sleep 0.5
  local r b a ratios="" cpu_ratios="" bare_all="" air_all="" sustained_all="" sustained_ratios="" drains=""
  local load_s
  load_s=$(awk -v d="$(seconds "$DURATION")" -v w="$(seconds "$WARMUP")" 'BEGIN { print d + w }')
  for r in $(seq "$ROUNDS"); do
    b=$(lg -url http://127.0.0.1:$BARE_PORT -scenario api-forgot -c "$CLIENTS" -duration "$DURATION" -warmup "$WARMUP" -accounts 1000 -pid "$bpid" | grep '^result')
    a=$(lg -scenario api-forgot -c "$CLIENTS" -duration "$DURATION" -warmup "$WARMUP" -accounts 1000 -pid "$apid" | grep '^result')
    wait_idle "$apid"
    echo "$a" >"$dir/a$r"
    # Sustained: the round's requests (warm-up included) over the time from
    # its start until Airlock has done all their work (idle again), which
    # a flood of that rate held for long would come to; the bare handler
    # has no work left when it answers.
    local sus
    sus=$(awk -v rps="$(echo "$a" | field rps)" -v l="$load_s" -v i="$idle_s" 'BEGIN { printf "%.0f", rps * l / (l + i) }')
    sustained_all+="$sus"$'\n'
    sustained_ratios+="$(ratio "$sus" "$(echo "$b" | field rps)")"$'\n'
    drains+="$idle_s"$'\n'
    ratios+="$(ratio "$(echo "$a" | field rps)" "$(echo "$b" | field rps)")"$'\n'
    cpu_ratios+="$(ratio "$(echo "$a" | field per_cpu_s)" "$(echo "$b" | field per_cpu_s)")"$'\n'
    bare_all+="$(echo "$b" | field rps)"$'\n'
    air_all+="$(echo "$a" | field rps)"$'\n'
  done
  if [ "$db" = postgres ]; then
    # The jobs table's upkeep is PostgreSQL's autovacuum (migration 11), not
    # the application's: what it left after the rounds, and how often it ran.
    local jobs
    jobs=$(psql "$AIRLOCK_DATABASE_URL" -Atc "SELECT n_live_tup || ' live, ' || n_dead_tup || ' dead rows; autovacuum ran ' || autovacuum_count || ' times, autoanalyze ' || autoanalyze_count FROM pg_stat_user_tables WHERE relname = 'jobs'")
    say "  jobs table after the rounds ($db): $jobs"
  fi
  echo "-- timing at 4 clients --"
  lg -scenario api-forgot -c 4 -duration 3s -warmup 500ms -accounts 1000 >"$dir/low"
  kill "$bpid"; wait "$bpid" 2>/dev/null || true; bpid=""
  stop_airlock
  say "forgot $db: ratio $(echo -n "$ratios" | median) (median of rounds $(echo -n "$ratios" | list)); Airlock $(echo -n "$air_all" | median) req/s, bare $(echo -n "$bare_all" | median) req/s; per server CPU-second: ratio $(echo -n "$cpu_ratios" | median) ($(echo -n "$cpu_ratios" | list))"
  say "  sustained $db (work done, not only answered): ratio $(echo -n "$sustained_ratios" | median) ($(echo -n "$sustained_ratios" | list)); $(echo -n "$sustained_all" | median) req/s; queue worked off $(echo -n "$drains" | list) s after each round"
  local p w
  for r in $(seq "$ROUNDS"); do
    p+="$(field mw_p <"$dir/a$r")"$'\n'
    w+="$(field median_diff_ms <"$dir/a$r")"$'\n'
  done
  local last=$dir/a$ROUNDS
  say "  timing $db at $CLIENTS clients: Mann-Whitney p $(echo -n "$p" | list), median difference $(echo -n "$w" | list) ms; p99 $(field p99_ms <"$last") ms, statuses 202=$(field s202 <"$last") 500=$(field s500 <"$last") 503=$(field s503 <"$last") (last round)"
  say "  timing $db at 4 clients: Mann-Whitney p=$(field mw_p <"$dir/low"), median difference $(field median_diff_ms <"$dir/low") ms"
}

# signin: raw argon2id on every core, and the password grant at 2 x cores
# clients, alternately, ROUNDS times each.
signin() {
  echo "== sign-in: raw argon2id on every core vs the password grant at $((2 * CORES)) clients, $ROUNDS rounds =="
  fresh sqlite
  start_airlock
  local r raw out ratios="" cpu_ratios="" p99s="" rps_all="" raw_all="" s500=0 s503=0
  for r in $(seq "$ROUNDS"); do
    raw=$(lg -scenario argon2 -duration 4s | grep '^result')
    out=$(lg -scenario login -c $((2 * CORES)) -duration 6s -warmup 1s -pid "$apid" | grep '^result')
    ratios+="$(ratio "$(echo "$out" | field rps)" "$(echo "$raw" | field hps)")"$'\n'
    cpu_ratios+="$(ratio "$(echo "$out" | field per_cpu_s)" "$(echo "$raw" | field per_cpu_s)")"$'\n'
    p99s+="$(echo "$out" | field p99_ms)"$'\n'
    rps_all+="$(echo "$out" | field rps)"$'\n'
    raw_all+="$(echo "$raw" | field hps)"$'\n'
    s500=$((s500 + $(echo "$out" | field s500)))
    s503=$((s503 + $(echo "$out" | field s503)))
  done
  stop_airlock
  say "sign-in: ratio $(echo -n "$ratios" | median) (median of rounds $(echo -n "$ratios" | list)); $(echo -n "$rps_all" | median) req/s vs raw argon2id $(echo -n "$raw_all" | median) hashes/s; per CPU-second: ratio $(echo -n "$cpu_ratios" | median) ($(echo -n "$cpu_ratios" | list)); p99 $(echo -n "$p99s" | median) ms (rounds $(echo -n "$p99s" | list)); 500=$s500 503=$s503"
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

# bareflood measures the bare handler under the flood, and sets bare to its
# result line (in this shell, so that the trap can stop it).
bareflood() {
  local out
  "$dir/bare" -listen 127.0.0.1:$BARE_PORT & bpid=$!
  sleep 0.5
  out=$(lg -url http://127.0.0.1:$BARE_PORT -scenario flood -c "$CLIENTS" -duration "$FLOOD_DURATION" -accounts 1000 -person-rate 0)
  echo "$out" | grep -v '^result' | sed "s/^/   bare $1 /"
  bare=$(echo "$out" | grep '^result')
  kill "$bpid"; wait "$bpid" 2>/dev/null || true; bpid=""
}

# flood DB NODES: issue 23's scenario on NODES nodes of a fresh DB, and the
# bare handler under the same flood just before (the ratio's yardstick) and
# just after (how far the machine drifted meanwhile).
flood() {
  local db=$1 nodes=$2 k port urls="" pids="" b b2 bare out pgopt=() perfpid=""
  echo "== flood, $db, $nodes node(s): $CLIENTS clients for $FLOOD_DURATION, each request from its own address; a person twice a second =="
  fresh "$db"
  # The person's accounts, which the flood never names.
  { echo "email,first_name,last_name,language,groups"; for k in $(seq 0 199); do echo "person-$k@example.com,Person,$k,en,"; done; } >"$dir/persons.csv"
  "$dir/airlock" user import "$dir/persons.csv" >/dev/null 2>&1
  bareflood before; b=$bare
  # Production settings: the limits at their defaults (the other parts turn
  # them off), the proxy on 127.0.0.1 trusted, email through SMTP.
  for k in $(seq 0 $((nodes - 1))); do
    port=$((PORT + k))
    env -u AIRLOCK_LIMIT_FORGOT_PER_IP -u AIRLOCK_LIMIT_RESET_PER_ACCOUNT -u AIRLOCK_LIMIT_LOGIN_PER_EMAIL -u AIRLOCK_LIMIT_LOGIN_PER_IP \
      BENCH_PPROF_LISTEN=${PPROF:+127.0.0.1:$((PPROF_PORT + k))} AIRLOCK_LISTEN=127.0.0.1:$port AIRLOCK_TRUSTED_PROXIES=127.0.0.1/32 AIRLOCK_SMTP_URL=smtp://127.0.0.1:$SMTP_PORT \
      "$dir/airlock" serve >"$dir/node$k.log" 2>&1 &
    npids+=($!)
    urls+="http://127.0.0.1:$port,"
    pids+="$!,"
  done
  for k in $(seq 0 $((nodes - 1))); do
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((PORT + k))/healthz" >/dev/null && continue 2; sleep 0.1; done
    echo "node $k did not start:"; cat "$dir/node$k.log"; exit 1
  done
  [ "$db" = postgres ] && pgopt=(-postgres-db "$PGDB")
  echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ -n "$PROFILE" ]; then
    perf record -q -F 199 -g -p "${pids%,}" -o "$dir/perf.data" -- sleep "$(seconds "$FLOOD_DURATION")" >/dev/null 2>&1 &
    perfpid=$!
  fi
  local pprofpids=()
  if [ -n "$PPROF" ]; then
    for k in $(seq 0 $((nodes - 1))); do
      curl -sf -o "$PPROF/flood-$db-node$k.pprof" "http://127.0.0.1:$((PPROF_PORT + k))/debug/pprof/profile?seconds=$(seconds "$FLOOD_DURATION")" &
      pprofpids+=($!)
    done
  fi
  out=$(lg -scenario flood -urls "${urls%,}" -pids "${pids%,}" "${pgopt[@]}" -queue-db "$AIRLOCK_DATABASE_URL" -smtp 127.0.0.1:$SMTP_PORT -c "$CLIENTS" \
    -duration "$FLOOD_DURATION" -accounts 1000 -person-rate 2 -idle-max 2m -max-time 5m -email-wait "${EMAIL_WAIT:-90s}")
  echo "$out" | grep -v '^result' | sed 's/^/   /'
  out=$(echo "$out" | grep '^result')
  [ -n "$perfpid" ] && wait "$perfpid"
  for k in "${pprofpids[@]}"; do wait "$k" || true; done
  if [ -n "$PPROF" ]; then
    # What each node allocated since it started (the flood, mostly): the
    # garbage collector's work comes from these.
    for k in $(seq 0 $((nodes - 1))); do
      curl -sf -o "$PPROF/flood-$db-node$k.allocs.pprof" "http://127.0.0.1:$((PPROF_PORT + k))/debug/pprof/allocs" || true
    done
  fi
  echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  for k in "${!npids[@]}"; do kill "${npids[$k]}"; wait "${npids[$k]}" 2>/dev/null || true; done
  npids=()
  bareflood after; b2=$bare
  echo "   warnings and errors in the nodes' logs:"
  sed -n 's/.*level=\([A-Z]*\) msg=\("[^"]*"\|[^ ]*\).*/\1 \2/p' "$dir"/node*.log | sort | uniq -c | sed 's/^/     /'
  if [ -n "$PROFILE" ]; then
    # Inclusive shares (a function with all it calls) of the parts that
    # name where the time goes.
    echo "   where the nodes' CPU went during the flood (perf, share of the samples with the function on the stack):"
    perf report -i "$dir/perf.data" --stdio --children --sort symbol -g none --percent-limit 0.5 >"$dir/perf.txt" 2>/dev/null || true
    grep -E '^ +[0-9.]+% +[0-9.]+%' "$dir/perf.txt" |
      grep -E 'airlockhq|net/http\.\(\*conn\)\.serve|database/sql\.\(\*(DB|Tx)\)|gcBgMarkWorker|mallocgc$|sqlite/lib\._sqlite3(VdbeExec|WalFrames|PagerCommitPhaseOne)|pgx/v5\.\(\*Conn\)\.(Exec|Query)|\[k\] (entry_SYSCALL|do_syscall_64|x64_sys_call)' |
      head -45 | awk '{ $1 = $1; print "     " $0 }' || true
  fi
  f() { echo "$out" | field "$1"; }
  say "flood $db, $nodes node(s): a person's email during the flood p50 $(f during_p50_ms) ms, p95 $(f during_p95_ms) ms, max $(f during_max_ms) ms ($(f during_n) asked, $(f during_missing) missing, $(f during_non202) not 202, answer p50 $(f during_answer_p50_ms) ms); 0-5 s after: p95 $(f gap_p95_ms) ms, max $(f gap_max_ms) ms; from 5 s after: p50 $(f after_p50_ms) ms, p95 $(f after_p95_ms) ms, max $(f after_max_ms) ms ($(f after_n) asked, $(f after_missing) missing)"
  say "  flood answered $(f rps)/s vs bare $(echo "$b" | field rps)/s: ratio $(ratio "$(f rps)" "$(echo "$b" | field rps)") (bare after it $(echo "$b2" | field rps)/s: ratio $(ratio "$(f rps)" "$(echo "$b2" | field rps)")); statuses 202=$(f s202) 429=$(f s429) 503=$(f s503) other=$(f other) errors=$(f failed) (bare: errors $(echo "$b" | field failed)); flood answer p50 $(f p50_ms) ms, p99 $(f p99_ms) ms"
  say "  queue: during the flood at most $(f queue_forgot_max) forgot requests waiting, the oldest $(f queue_forgot_oldest_max_s) s; at its end $(f queue_forgot_end) (oldest $(f queue_forgot_oldest_end_s) s); emails waiting at most $(f queue_mail_max), the oldest $(f queue_mail_oldest_max_s) s"
  say "  backlog: idle $(f idle_after_s) s after the flood (idle reached: $(f idle_ok)); the flood's emails $(f flood_emails) to $(f flood_email_accounts) accounts, the last $(f flood_last_email_s) s from its end (negative: before); CPU $(f us_per_accepted) µs per accepted request ($(f accepted) accepted; servers $(f server_cpu_s) s + postgres backends $(f postgres_cpu_s) s over $(f cpu_window_s) s; whole machine less the load generator: $(f us_per_accepted_machine) µs)"
}

want sqlite && forgot sqlite
want postgres && forgot postgres
want signin && signin
want burst && burst
if want emails; then
  emails sqlite
  emails postgres
fi
if want flood || want flood-sqlite; then flood sqlite 1; fi
if want flood || want flood-postgres; then flood postgres 3; fi

echo
echo "== summary ($(date -u +%Y-%m-%d), $CORES cores, $(go env GOVERSION)) =="
printf '%s\n' "${summary[@]}"
