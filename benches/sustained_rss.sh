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
PORT="${TICKETE_SUSTAINED_PORT:-3993}"
# The first reads flush comes a minute after start; samples from then on count as after it.
FLUSH_AT=58
# shellcheck source=benches/servers_on_fill.sh
source benches/servers_on_fill.sh
prepare_reads_on_fill

read -r -a extra_env <<<"${SERVER_ENV:-}"
start_server_on_fill load "$BIN_DIR" "$PORT" "${extra_env[@]}"
server=$started_pid
base="http://127.0.0.1:${PORT}"

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
