#!/usr/bin/env bash
# Server time of the dashboard's freshness heatmap: PRODUCTS × 62 dates in one request.
#
#   bash benches/heatmap.sh [requests]
#
# Builds the release server and CLI, starts the partner simulator with PRODUCTS (default 450)
# products and no rate limit, fills PRODUCTS × 62 days through it with `tickete sync` (so every
# cell has a day state), pauses syncing, starts the server on SQLite, signs in to the dashboard
# and requests `/admin/freshness?days=62` REQUESTS times (default 30), one after the other.
# Prints the server's own timing of each request (`Server-Timing`: `read` = the heatmap action,
# `total` = action and rendering) and curl's time to the last byte, as p50 / p95 / max, and the
# page size. KEEP_DB=<path> keeps a copy of the filled SQLite file (to look at the queries).
# FILLED_DB=<path>: when the file exists, start from a copy of it instead of filling through
# the simulator; when it does not, keep the fill there (run the older build first: a newer
# build migrates its copy, an older one refuses a file a newer one migrated).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS="${1:-30}"
PRODUCTS="${PRODUCTS:-450}"
DAYS=62
PORT="${TICKETE_LOAD_PORT:-3989}"
SIM_PORT="${TICKETE_LOAD_SIM_PORT:-4012}"
TOKEN="heatmap-bench-admin-token"
BASE="http://127.0.0.1:${PORT}"

if [[ -z "${BIN_DIR:-}" ]]; then
  cargo build --release -q -p tickete-server -p tickete-cli
  BIN_DIR=target/release
fi
workdir="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  [[ -n "${KEEP_DB:-}" ]] && cp "${workdir}/heatmap.db" "$KEEP_DB"; rm -rf "$workdir"
}
trap cleanup EXIT

"$BIN_DIR"/tickete partner-sim --products "$PRODUCTS" --rate-limit 0 --change-rate 0 \
  --bind "127.0.0.1:${SIM_PORT}" >"${workdir}/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:${SIM_PORT}/api/v1/inventory/14?date=$(date -u +%F)" >/dev/null && break; sleep 0.1; done

export DATABASE_URL="sqlite://${workdir}/heatmap.db" TICKETE_PRODUCTS="$(seq -s, 1 "$PRODUCTS")" \
  TICKETE_PARTNER_URL="http://127.0.0.1:${SIM_PORT}" TICKETE_PARTNER_RATE_PER_MINUTE=6000000 \
  TICKETE_ADMIN_TOKEN="$TOKEN" RUST_LOG=warn
start=$SECONDS
if [[ -n "${FILLED_DB:-}" && -f "${FILLED_DB}" ]]; then
  cp "$FILLED_DB" "${workdir}/heatmap.db"
  echo "copied a fill of ${PRODUCTS} products × ${DAYS} days from ${FILLED_DB}"
else
  "$BIN_DIR"/tickete sync --days "$DAYS" >"${workdir}/sync.log" 2>&1 \
    || { echo "fill failed:"; tail -5 "${workdir}/sync.log"; exit 1; }
  echo "filled ${PRODUCTS} products × ${DAYS} days in $((SECONDS - start)) s"
  "$BIN_DIR"/tickete pause >/dev/null
  [[ -n "${FILLED_DB:-}" ]] && sqlite3 "${workdir}/heatmap.db" ".backup '${FILLED_DB}'"
fi

TICKETE_BIND="127.0.0.1:${PORT}" TICKETE_PUBLIC_RATE_PER_MINUTE=0 \
  "$BIN_DIR"/tickete-server >"${workdir}/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.1; done

cookie=$(curl -fs -o /dev/null -D - -X POST --data-urlencode "token=${TOKEN}" "$BASE/admin/login" \
  | awk -F'[ ;]' 'tolower($1) == "set-cookie:" {print $2}')
[[ -n "$cookie" ]] || { echo "sign-in failed"; exit 1; }

: >"${workdir}/times"
for _ in $(seq 1 "$REQUESTS"); do
  curl -fs -o "${workdir}/page.html" -D "${workdir}/headers" -w '%{time_total}\n' \
    -H "cookie: ${cookie}" "$BASE/admin/freshness?days=${DAYS}" >"${workdir}/curl"
  timing=$(awk 'tolower($1) == "server-timing:" {print}' "${workdir}/headers")
  read_ms=$(echo "$timing" | grep -o 'read;dur=[0-9.]*' | cut -d= -f2)
  total_ms=$(echo "$timing" | grep -o 'total;dur=[0-9.]*' | cut -d= -f2)
  curl_ms=$(awk '{print $1 * 1000}' "${workdir}/curl")
  echo "$read_ms $total_ms $curl_ms" >>"${workdir}/times"
done
cells=$(grep -o '<td class="' "${workdir}/page.html" | wc -l)
[[ "$cells" -eq $((PRODUCTS * DAYS)) ]] || { echo "expected $((PRODUCTS * DAYS)) cells, page has $cells"; exit 1; }

stat() { # column -> "p50 p95 max"
  cut -d' ' -f"$1" "${workdir}/times" | sort -n | awk '{v[NR]=$1} END {
    p50=v[int((NR+1)/2)]; i=int(NR*0.95+0.999); if (i<1) i=1; if (i>NR) i=NR;
    printf "%8.1f %8.1f %8.1f", p50, v[i], v[NR]}'
}
echo "heatmap ${PRODUCTS} products × ${DAYS} dates (${cells} cells), ${REQUESTS} sequential requests, page $(( $(wc -c <"${workdir}/page.html") / 1024 )) KiB, SQLite, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %8s %8s %8s\n' "ms" p50 p95 max
printf '%-34s %s\n' "server: heatmap action (read)" "$(stat 1)"
printf '%-34s %s\n' "server: action + render (total)" "$(stat 2)"
printf '%-34s %s\n' "client: time to last byte (curl)" "$(stat 3)"
