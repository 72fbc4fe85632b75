#!/usr/bin/env bash
# Load test of the public read routes against /healthz, in one run on one machine, so the
# figures are ratios that survive a noisy, shared machine.
#
#   bash benches/load.sh [seconds-per-route] [connections]
#
# Builds the release server, starts it on SQLite with the built-in partner simulator, syncs
# today's data, then drives /healthz, /experience/14/slots and /experience/14/dates with wrk
# (installed from Debian's packages when missing) and prints throughput, p99 and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_ROUTE="${1:-10}"
CONNECTIONS="${2:-64}"
PORT="${TICKETE_LOAD_PORT:-3987}"
TOKEN="load-test-admin-token"
BASE="http://127.0.0.1:${PORT}"

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null))
fi

cargo build --release -q -p tickete-server
workdir="$(mktemp -d)"
DATABASE_URL="sqlite://${workdir}/load.db" \
TICKETE_BIND="127.0.0.1:${PORT}" \
TICKETE_ADMIN_TOKEN="$TOKEN" \
TICKETE_PUBLIC_RATE_PER_MINUTE=0 \
TICKETE_PARTNER_RATE_PER_MINUTE=600 \
RUST_LOG=warn \
  target/release/tickete-server --partner-sim >"${workdir}/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$workdir"' EXIT

for _ in $(seq 1 100); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.1; done
run=$(curl -fs -X POST -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/admin/cron/sync?daysToSync=1" \
  | sed -E 's/.*"runId":([0-9]+).*/\1/')
for _ in $(seq 1 100); do
  curl -fs -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/admin/runs/$run" | grep -q '"status":"running"' || break
  sleep 0.2
done
today=$(date -u +%F)
slots=$(curl -fs "$BASE/api/v1/experience/14/slots?date=$today" | grep -o '"startTime"' | wc -l)
echo "synced: product 14 has $slots slots on $today"

measure() { # route -> "requests_per_second p99_ms"
  local out rps p99
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_ROUTE}s" --latency "$BASE$1")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "$rps $p99"
}
to_ms() { # wrk latency (850.00us, 1.20ms, 1.01s) -> ms
  echo "$1" | awk '/us$/ {sub("us",""); print $1/1000; next} /ms$/ {sub("ms",""); print $1; next} /s$/ {sub("s",""); print $1*1000}'
}

read -r health_rps health_p99 <<<"$(measure /healthz)"
read -r slots_rps slots_p99 <<<"$(measure "/api/v1/experience/14/slots?date=$today")"
read -r dates_rps dates_p99 <<<"$(measure /api/v1/experience/14/dates)"

printf '\n%-32s %12s %10s %10s\n' route "req/s" "p99 ms" "vs healthz"
for row in "healthz $health_rps $health_p99" "slots $slots_rps $slots_p99" "dates $dates_rps $dates_p99"; do
  set -- $row
  printf '%-32s %12s %10s %9.0f%%\n' "$1" "$2" "$(to_ms "$3")" "$(awk -v a="$2" -v b="$health_rps" 'BEGIN {print 100*a/b}')"
done
echo "(${CONNECTIONS} connections, ${SECONDS_PER_ROUTE} s per route, wrk and the server on the same $(nproc)-core machine)"
