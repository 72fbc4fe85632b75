#!/usr/bin/env bash
# The server's memory under sustained reads: past its reads flushes, which a phase of
# read_at_scale.sh ends before.
#
#   FILLED_DB=<fill> bash benches/sustained_rss.sh <bin dir> [seconds] [connections]
#
# Starts the server of <bin dir> on a copy of FILLED_DB (a SQLite fill of PRODUCTS × DAYS
# days, defaults 1,000 × 60, such as `FILLED_DB=<fill> bash benches/read_at_scale.sh sqlite`
# keeps), drives the 9 slots : 1 dates mix of random reads for SECONDS (default 130) with
# CONNECTIONS (default 64), samples its RSS every 2 s, and prints the samples, the largest
# before and after the first reads flush (a minute after start), the peak (VmHWM) and the
# req/s. SERVER_ENV adds variables to the server's environment, e.g.
# SERVER_ENV="GLIBC_TUNABLES=" to run on glibc's default allocator set-up.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

BIN_DIR="${1:?usage: FILLED_DB=<fill> bash benches/sustained_rss.sh <bin dir> [seconds] [connections]}"
DURATION="${2:-130}"
CONNECTIONS="${3:-64}"
PRODUCTS="${PRODUCTS:-1000}"
DAYS="${DAYS:-60}"
PORT="${TICKETE_SUSTAINED_PORT:-3993}"
# The first reads flush comes a minute after start; samples from then on count as after it.
FLUSH_AT=58
: "${FILLED_DB:?FILLED_DB must name a filled SQLite database (see benches/read_at_scale.sh)}"
[[ -f $FILLED_DB ]] || { echo "FILLED_DB=$FILLED_DB does not exist"; exit 2; }
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null

workdir="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$workdir"
}
trap cleanup EXIT

today=$(date -u +%F)
dates=()
for n in $(seq 0 $((DAYS - 1))); do dates+=("$(date -u -d "$today + $n day" +%F)"); done
# shellcheck source=benches/random_reads.sh
source benches/random_reads.sh
write_random_reads_lua "${workdir}/random.lua" "$PRODUCTS" "${dates[@]}"

cp "$FILLED_DB" "${workdir}/load.db"
read -r -a extra_env <<<"${SERVER_ENV:-}"
env "${extra_env[@]}" DATABASE_URL="sqlite://${workdir}/load.db" \
  TICKETE_PRODUCTS="$(seq -s, 1 "$PRODUCTS")" TICKETE_PARTNER_URL=http://127.0.0.1:9 \
  TICKETE_ADMIN_TOKEN=sustained-rss-admin-token RUST_LOG=warn TICKETE_BIND="127.0.0.1:${PORT}" \
  TICKETE_PUBLIC_RATE_PER_MINUTE=0 "$BIN_DIR"/tickete-server >"${workdir}/server.log" 2>&1 &
server=$!
pids+=("$server")
base="http://127.0.0.1:${PORT}"
for _ in $(seq 1 600); do curl -fs "$base/readyz" >/dev/null && break; sleep 0.1; done
curl -fs "$base/readyz" >/dev/null || { echo "the server is not ready:"; tail -20 "${workdir}/server.log"; exit 1; }
# Syncing paused (as the fill left it; again, to be sure): the server calls no partner (an
# address nothing listens on) and writes no inventory during the run.
curl -fs -X POST -H "Authorization: Bearer sustained-rss-admin-token" "$base/api/v1/sync/pause" >/dev/null

started=$SECONDS
LOAD_MODE=mixed wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "${workdir}/random.lua" "$base" >"${workdir}/wrk.out" &
load=$!
pids+=("$load")
before=0 after=0 samples=()
while kill -0 "$load" 2>/dev/null; do
  sleep 2
  rss=$(awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/${server}/status")
  samples+=("$rss")
  if (( SECONDS - started < FLUSH_AT )); then
    (( rss > before )) && before=$rss
  else
    (( rss > after )) && after=$rss
  fi
done
wait "$load" || true
if grep -q "Non-2xx" "${workdir}/wrk.out"; then echo "non-2xx answers:"; cat "${workdir}/wrk.out"; exit 1; fi
echo "RSS every 2 s (MB): ${samples[*]}"
echo "largest before the first reads flush: ${before} MB; after it: ${after} MB; peak (VmHWM): $(awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/${server}/status") MB; $(awk '/Requests\/sec/ {printf "%.0f", $2}' "${workdir}/wrk.out") req/s (${CONNECTIONS} connections, ${DURATION} s, SERVER_ENV=[${SERVER_ENV:-}], load average $(cut -d' ' -f1-3 /proc/loadavg))"
