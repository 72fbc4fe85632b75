# Sourced by the benchmarks that run release servers on copies of one SQLite fill
# (compare_reads.sh, sustained_rss.sh).
#
#   prepare_reads_on_fill
#     checks FILLED_DB, installs wrk if missing, makes `workdir` (removed at exit, with every
#     process in `pids` stopped) and writes the random reads' wrk script to
#     ${workdir}/random.lua for PRODUCTS × DAYS (defaults 1,000 × 60).
#   start_server_on_fill <name> <bin dir> <port> [VAR=value ...]
#     starts <bin dir>/tickete-server on ${workdir}/<name>.db, a copy of the fill, with the
#     extra variables; waits until it is ready and pauses its syncing (as the fill left it;
#     again, to be sure): it calls no partner (an address nothing listens on) and writes no
#     inventory during the run. Sets `started_pid`.

# shellcheck source=benches/random_reads.sh
source "$(dirname "${BASH_SOURCE[0]}")/random_reads.sh"

BENCH_ADMIN_TOKEN=bench-admin-token

prepare_reads_on_fill() {
  PRODUCTS="${PRODUCTS:-1000}"
  DAYS="${DAYS:-60}"
  : "${FILLED_DB:?FILLED_DB must name a filled SQLite database (see benches/read_at_scale.sh)}"
  [[ -f $FILLED_DB ]] || { echo "FILLED_DB=$FILLED_DB does not exist"; exit 2; }
  command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
  workdir="$(mktemp -d)"
  pids=()
  trap stop_servers_on_fill EXIT
  local today n dates=()
  today=$(date -u +%F)
  for n in $(seq 0 $((DAYS - 1))); do dates+=("$(date -u -d "$today + $n day" +%F)"); done
  write_random_reads_lua "${workdir}/random.lua" "$PRODUCTS" "${dates[@]}"
}

stop_servers_on_fill() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$workdir"
}

start_server_on_fill() {
  local name=$1 dir=$2 port=$3
  shift 3
  cp "$FILLED_DB" "${workdir}/${name}.db"
  env "$@" DATABASE_URL="sqlite://${workdir}/${name}.db" TICKETE_PRODUCTS="$(seq -s, 1 "$PRODUCTS")" \
    TICKETE_PARTNER_URL=http://127.0.0.1:9 TICKETE_ADMIN_TOKEN="$BENCH_ADMIN_TOKEN" RUST_LOG=warn \
    TICKETE_BIND="127.0.0.1:${port}" TICKETE_PUBLIC_RATE_PER_MINUTE=0 \
    "$dir"/tickete-server >"${workdir}/${name}.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
  local base="http://127.0.0.1:${port}"
  for _ in $(seq 1 600); do curl -fs "$base/readyz" >/dev/null && break; sleep 0.1; done
  curl -fs "$base/readyz" >/dev/null \
    || { echo "server $name is not ready:"; tail -20 "${workdir}/${name}.log"; exit 1; }
  curl -fs -X POST -H "Authorization: Bearer $BENCH_ADMIN_TOKEN" "$base/api/v1/sync/pause" >/dev/null
}
