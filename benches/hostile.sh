#!/usr/bin/env bash
# Hostile clients against a release server, each on a fresh process:
#
#   1. made-up methods: N requests with a new method each on one keep-alive connection to
#      /healthz; RSS and the size of /metrics before and after.
#   2. no scrapes: 64 connections on the slots and dates routes for S seconds while nothing
#      scrapes /metrics; RSS before and after, bytes per request.
#   3. slowloris: C connections that send part of a request and stop; open descriptors of the
#      server, /healthz latency during the attack, and what is still open 15 s later.
#
#   bash benches/hostile.sh [server-binary]
#
# Without an argument it builds and uses target/release/tickete-server. Knobs (environment):
# HOSTILE_METHODS (200000), HOSTILE_SECONDS (60), HOSTILE_SLOW (3000), HOSTILE_PORT (4731),
# HOSTILE_ONLY (e.g. `3` or `1 2`: run only those scenarios).
# Runs only against 127.0.0.1; every loop is bounded in count and time.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVER="${1:-}"
METHODS="${HOSTILE_METHODS:-200000}"
SECONDS_LOAD="${HOSTILE_SECONDS:-60}"
SLOW="${HOSTILE_SLOW:-3000}"
PORT="${HOSTILE_PORT:-4731}"
ONLY="${HOSTILE_ONLY:-1 2 3}"
wanted() { [[ " $ONLY " == *" $1 "* ]]; }
TOKEN="hostile-bench-admin-token"
BASE="http://127.0.0.1:${PORT}"

if [ -z "$SERVER" ]; then
  cargo build --release -q -p tickete-server
  SERVER=target/release/tickete-server
fi
if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null))
fi

workdir="$(mktemp -d)"
server=""
stop_server() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=""
}
trap 'stop_server; rm -rf "$workdir"' EXIT

start_server() {
  rm -f "$workdir"/load.db*
  DATABASE_URL="sqlite://${workdir}/load.db" \
  TICKETE_BIND="127.0.0.1:${PORT}" \
  TICKETE_ADMIN_TOKEN="$TOKEN" \
  TICKETE_PUBLIC_RATE_PER_MINUTE=0 \
  TICKETE_PARTNER_RATE_PER_MINUTE=600 \
  RUST_LOG=error \
    "$SERVER" --partner-sim >"${workdir}/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -fs "$BASE/readyz" >/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
fds() { ls "/proc/$server/fd" 2>/dev/null | wc -l; }
metrics_bytes() { curl -fs "$BASE/metrics" | wc -c; }

echo "server: $SERVER ($(git rev-parse --short HEAD 2>/dev/null || echo '?') checkout)"

# --- 1. made-up methods -------------------------------------------------------------------
if wanted 1; then
start_server
rss0=$(rss_kb); met0=$(metrics_bytes)
t0=$(date +%s.%N)
python3 - "$PORT" "$METHODS" <<'PY'
import socket, sys
port, total = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(30)
sent = 0
while sent < total:
    batch = min(64, total - sent)
    s.sendall(b"".join(b"M%d /healthz HTTP/1.1\r\nHost: x\r\n\r\n" % (sent + i) for i in range(batch)))
    sent += batch
    seen, buf = 0, b""
    while seen < batch:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(f"closed after {sent - batch + seen} responses")
        buf += chunk
        seen = buf.count(b"HTTP/1.1 ")
s.close()
PY
t1=$(date +%s.%N)
rss1=$(rss_kb); met1=$(metrics_bytes)
stop_server
printf '1. %d made-up methods in %.1f s: RSS %d -> %d kB (x%.1f), /metrics %d -> %d bytes (x%.1f)\n' \
  "$METHODS" "$(echo "$t1 - $t0" | bc)" "$rss0" "$rss1" "$(echo "$rss1 / $rss0" | bc -l)" \
  "$met0" "$met1" "$(echo "$met1 / $met0" | bc -l)"
fi

# --- 2. sustained load, no scrapes --------------------------------------------------------
if wanted 2; then
start_server
run=$(curl -fs -X POST -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/admin/cron/sync?daysToSync=1" \
  | sed -E 's/.*"runId":([0-9]+).*/\1/')
for _ in $(seq 1 100); do
  curl -fs -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/admin/runs/$run" | grep -q '"status":"running"' || break
  sleep 0.2
done
today=$(date -u +%F)
sleep 1
rss0=$(rss_kb)
wrk -t1 -c32 -d"${SECONDS_LOAD}s" "$BASE/api/v1/experience/14/slots?date=$today" >"$workdir/slots.txt" &
w1=$!
wrk -t1 -c32 -d"${SECONDS_LOAD}s" "$BASE/api/v1/experience/14/dates" >"$workdir/dates.txt" &
w2=$!
samples=""
for _ in $(seq 1 $((SECONDS_LOAD / 10))); do
  sleep 10
  samples="$samples $(rss_kb)"
done
wait "$w1" "$w2"
rss1=$(rss_kb)
requests=$(cat "$workdir/slots.txt" "$workdir/dates.txt" | awk '/requests in/ {n += $1} END {print n}')
sleep 6 # one upkeep period, still without a scrape
rss2=$(rss_kb)
stop_server
printf '2. %d requests in %d s on slots+dates, no scrape: RSS %d -> %d kB (+%d kB, %.1f bytes/request), %d kB 6 s later; every 10 s:%s kB\n' \
  "$requests" "$SECONDS_LOAD" "$rss0" "$rss1" "$((rss1 - rss0))" \
  "$(echo "($rss1 - $rss0) * 1024 / $requests" | bc -l)" "$rss2" "$samples"
fi

# --- 3. slowloris -------------------------------------------------------------------------
if wanted 3; then
start_server
fd0=$(fds)
python3 - "$PORT" "$SLOW" "$workdir/slow.ready" <<'PY' &
import os, resource, socket, sys, time
port, total, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held, refused = [], 0
deadline = time.monotonic() + 60
for i in range(total):
    if time.monotonic() > deadline:
        refused += total - i
        break
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=0.2)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        held.append(s)
    except OSError:
        refused += 1
with open(ready + ".tmp", "w") as out:
    out.write(f"{len(held)} {refused}\n")
os.rename(ready + ".tmp", ready)
time.sleep(40)  # hold them; the script measures meanwhile, then kills this process
PY
slow=$!
for _ in $(seq 1 600); do [ -f "$workdir/slow.ready" ] && break; sleep 0.1; done
read -r opened failed <"$workdir/slow.ready"
fd1=$(fds)
health=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 "$BASE/healthz" || echo "000 timeout")
sleep 15
fd2=$(fds)
health2=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 "$BASE/healthz" || echo "000 timeout")
kill "$slow" 2>/dev/null || true; wait "$slow" 2>/dev/null || true
stop_server
printf '3. %d half-open connections (%d not connected within 0.2 s each or 60 s in all): server fds %d -> %d; /healthz during: %s s; 15 s later: fds %d, /healthz %s s\n' \
  "$opened" "$failed" "$fd0" "$fd1" "$health" "$fd2" "$health2"
fi
