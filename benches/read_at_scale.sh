#!/usr/bin/env bash
# Read path at scale: what shoppers do, not one hot key.
#
#   bash benches/read_at_scale.sh [stores] [seconds-per-phase] [connections]
#
#   stores: `sqlite`, `postgres` or `sqlite,postgres` (default); Postgres needs
#   TICKETE_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test): the script creates
#   a database of its own next to it and drops it afterwards.
#
# For each store: builds the release server and CLI, starts the partner simulator with
# PRODUCTS (default 1,000) products and no rate limit, fills PRODUCTS × DAYS (default 60) days
# through it with `tickete sync`, pauses syncing (so the server does not refetch during the
# run), starts the server, then drives with wrk, one phase after the other in one run:
#
#   healthz        GET /healthz (no I/O: the ceiling of this machine)
#   hot-slots      one product and date, over and over (the cache's best case)
#   random-slots   a random product and a random one of the DAYS dates per request
#   random-dates   a random product's /dates per request
#   random-mixed   9 random slots reads to 1 random dates read
#
# after a 5-second warm-up, and prints req/s, p99, the ratio to /healthz, the server's RSS
# (after the fill, the peak during the phases, and the peak once the server has run
# SUSTAIN_SECONDS, default 80, under the 9:1 mix: past its first reads flush) and the server's
# CPU time per request.
# Ratios and CPU per request are the figures to compare between runs: the machine is shared,
# wrk and the server run on it together.
#
# FILLED_DB=<path> (SQLite): when the file exists, the run starts from a copy of it instead of
# filling through the simulator (minutes on a loaded machine); when it does not, the fill is
# kept there. To compare two builds on one fill, run the older build first (BIN_DIR): a newer
# build migrates its copy at start, an older one refuses a file migrated by a newer one.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

STORES="${1:-sqlite,postgres}"
SECONDS_PER_PHASE="${2:-10}"
CONNECTIONS="${3:-64}"
PRODUCTS="${PRODUCTS:-1000}"
DAYS="${DAYS:-60}"
# The hot key: product 1 today (product 14, the earlier choice, is closed on Sundays).
HOT_PRODUCT="${HOT_PRODUCT:-1}"
PORT="${TICKETE_LOAD_PORT:-3988}"
SIM_PORT="${TICKETE_LOAD_SIM_PORT:-4011}"
TOKEN="load-test-admin-token"
BASE="http://127.0.0.1:${PORT}"

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null))
fi

# BIN_DIR: run binaries built elsewhere (e.g. a copy of an older commit's) instead of building.
if [[ -z "${BIN_DIR:-}" ]]; then
  cargo build --release -q -p tickete-server -p tickete-cli
  BIN_DIR=target/release
fi
workdir="$(mktemp -d)"
pids=()
pg_db=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [[ -n "$pg_db" ]]; then psql -q "$TICKETE_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'echo "read_at_scale.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

"$BIN_DIR"/tickete partner-sim --products "$PRODUCTS" --rate-limit 0 --change-rate 0 \
  --bind "127.0.0.1:${SIM_PORT}" >"${workdir}/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:${SIM_PORT}/api/v1/inventory/14?date=$(date -u +%F)" >/dev/null && break; sleep 0.1; done

today=$(date -u +%F)
dates=()
for n in $(seq 0 $((DAYS - 1))); do dates+=("$(date -u -d "$today + $n day" +%F)"); done

# shellcheck source=benches/random_reads.sh
source benches/random_reads.sh
write_random_reads_lua "${workdir}/random.lua" "$PRODUCTS" "${dates[@]}"

to_ms() { # wrk latency (850.00us, 1.20ms, 1.01s) -> ms
  echo "$1" | awk '/us$/ {sub("us",""); print $1/1000; next} /ms$/ {sub("ms",""); print $1; next} /s$/ {sub("s",""); print $1*1000}'
}
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
# The server's CPU time (user + system) in clock ticks: CPU per request is the measure of work
# a read costs that the load generator sharing the cores disturbs least.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_mb() { awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

run_store() { # store-name database-url
  local name=$1 url=$2 products_list
  products_list=$(seq -s, 1 "$PRODUCTS")
  export DATABASE_URL="$url" TICKETE_PRODUCTS="$products_list" \
    TICKETE_PARTNER_URL="http://127.0.0.1:${SIM_PORT}" TICKETE_PARTNER_RATE_PER_MINUTE=6000000 \
    TICKETE_ADMIN_TOKEN="$TOKEN" RUST_LOG=warn

  local start=$SECONDS filled="filled"
  if [[ $name == sqlite && -n "${FILLED_DB:-}" && -f "${FILLED_DB}" ]]; then
    cp "$FILLED_DB" "${workdir}/load.db"
    filled="copied a fill of"
  else
    "$BIN_DIR"/tickete sync --days "$DAYS" >"${workdir}/sync-${name}.log" 2>&1 \
      || { echo "fill failed:"; tail -5 "${workdir}/sync-${name}.log"; exit 1; }
    "$BIN_DIR"/tickete pause >/dev/null
    if [[ $name == sqlite && -n "${FILLED_DB:-}" ]]; then
      sqlite3 "${workdir}/load.db" ".backup '${FILLED_DB}'"
    fi
  fi
  local fill=$((SECONDS - start))

  local server_started=$SECONDS
  TICKETE_BIND="127.0.0.1:${PORT}" TICKETE_PUBLIC_RATE_PER_MINUTE=0 \
    "$BIN_DIR"/tickete-server >"${workdir}/server-${name}.log" 2>&1 &
  local server=$!
  pids+=("$server")
  local ready=""
  for _ in $(seq 1 600); do curl -fs "$BASE/readyz" >/dev/null && { ready=1; break; }; sleep 0.1; done
  [[ -n $ready ]] && kill -0 "$server" 2>/dev/null \
    || { echo "$name: the server is not ready (port ${PORT} taken?):"; tail -20 "${workdir}/server-${name}.log"; exit 1; }
  local slots
  # (No slots today is an answer too: grep finds nothing.)
  slots=$(curl -fsS "$BASE/api/v1/experience/${HOT_PRODUCT}/slots?date=$today" | { grep -o '"startTime"' || true; } | wc -l)
  local rss_start
  rss_start=$(rss_mb "$server")
  echo
  echo "== $name: ${filled} ${PRODUCTS} products × ${DAYS} days in ${fill} s; product ${HOT_PRODUCT} has $slots slots today; server RSS ${rss_start} MB"

  # Warm-up, not measured: the server's start-up work (loading what the refresh policy learnt,
  # the first freshness figures) and the first connections' buffers are behind it.
  wrk -t2 -c"$CONNECTIONS" -d5s "$BASE/healthz" >/dev/null
  local health_rps=""
  printf '%-14s %10s %8s %11s %8s %14s %11s\n' phase "req/s" "p99 ms" "vs healthz" "RSS MB" "server µs/req" "wrk µs/req"
  for phase in healthz hot-slots random-slots random-dates random-mixed; do
    local out rps p99 cpu_before args=()
    case $phase in
      healthz) args=("$BASE/healthz") ;;
      hot-slots) args=("$BASE/api/v1/experience/${HOT_PRODUCT}/slots?date=$today") ;;
      random-slots) args=(-s "${workdir}/random.lua" "$BASE"); export LOAD_MODE=slots ;;
      random-dates) args=(-s "${workdir}/random.lua" "$BASE"); export LOAD_MODE=dates ;;
      random-mixed) args=(-s "${workdir}/random.lua" "$BASE"); export LOAD_MODE=mixed ;;
    esac
    cpu_before=$(cpu_ticks "$server")
    # wrk's own CPU (bash's `time`: user and system seconds) tells how much of the two cores
    # the load generator took from the server in that phase.
    out=$( { TIMEFORMAT='%U %S'; time wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_PHASE}s" --latency "${args[@]}"; } 2>"${workdir}/wrk-cpu")
    local cpu_ticks_spent=$(( $(cpu_ticks "$server") - cpu_before ))
    if echo "$out" | grep -q "Non-2xx"; then echo "$phase: non-2xx answers:"; echo "$out"; exit 1; fi
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    [[ -z "$health_rps" ]] && health_rps=$rps
    printf '%-14s %10s %8s %11.2f %8s %14.1f %11.1f\n' "$phase" "$rps" "$(to_ms "$p99")" \
      "$(awk -v a="$rps" -v b="$health_rps" 'BEGIN {print a/b}')" "$(rss_mb "$server")" \
      "$(awk -v t="$cpu_ticks_spent" -v hz="$(getconf CLK_TCK)" -v r="$rps" -v s="$SECONDS_PER_PHASE" 'BEGIN {print t / hz / (r * s) * 1e6}')" \
      "$(awk -v r="$rps" -v s="$SECONDS_PER_PHASE" '{print ($1 + $2) / (r * s) * 1e6}' "${workdir}/wrk-cpu")"
  done
  local peak_phases left
  peak_phases=$(hwm_mb "$server")
  # Once a minute (the first time a minute after it started) the server writes the reads it
  # counted and reads back the merged counts: memory the phases above may end before. The 9:1
  # mix goes on, unmeasured, until the server has run SUSTAIN_SECONDS (default 80).
  left=$(( ${SUSTAIN_SECONDS:-80} - (SECONDS - server_started) ))
  if (( left > 0 )); then
    LOAD_MODE=mixed wrk -t2 -c"$CONNECTIONS" -d"${left}s" -s "${workdir}/random.lua" "$BASE" >/dev/null
  fi
  echo "peak RSS during the phases: ${peak_phases} MB; after $((SECONDS - server_started)) s of the server under load, its first reads flush included: $(hwm_mb "$server") MB (${CONNECTIONS} connections, ${SECONDS_PER_PHASE} s per phase, wrk and the server on the same $(nproc)-core machine; load average $(cut -d' ' -f1-3 /proc/loadavg))"
  kill "$server"; wait "$server" 2>/dev/null || true
}

IFS=',' read -r -a store_list <<<"$STORES"
for store in "${store_list[@]}"; do
  case $store in
    sqlite) run_store sqlite "sqlite://${workdir}/load.db" ;;
    postgres)
      if [[ -z "${TICKETE_TEST_POSTGRES_URL:-}" ]]; then echo "TICKETE_TEST_POSTGRES_URL is not set: Postgres skipped"; continue; fi
      pg_db="tickete_load_$$"
      psql -q "$TICKETE_TEST_POSTGRES_URL" -c "CREATE DATABASE $pg_db" >/dev/null
      run_store postgres "${TICKETE_TEST_POSTGRES_URL%/*}/$pg_db"
      ;;
    *) echo "unknown store $store (sqlite or postgres)"; exit 2 ;;
  esac
done
