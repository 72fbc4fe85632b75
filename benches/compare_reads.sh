#!/usr/bin/env bash
# Two builds under the same reads, interleaved in one run: which is faster, on a shared machine.
#
#   FILLED_DB=<fill> bash benches/compare_reads.sh <bin dir A> <bin dir B> [rounds] [seconds] [connections]
#
# FILLED_DB is a SQLite fill of PRODUCTS × DAYS days (defaults 1,000 × 60), such as the one
# `FILLED_DB=<fill> bash benches/read_at_scale.sh sqlite` keeps; each build reads a copy of it
# (run the older build as A: a newer build migrates its copy at start). Both servers run at
# once, each on its own port; the phases (healthz, random slots, random dates, the 9:1 mix)
# drive one server then the other, in bursts of SECONDS (default 5), ROUNDS times (default 4),
# swapping which goes first every round. On the 2-core development machine the throughput of
# one unchanged build swings by a fifth over tens of seconds (other tenants): runs of two
# builds minutes apart compare that noise, bursts a few seconds apart mostly do not.
#
# Prints per build and phase the mean req/s, the ratio to the same build's /healthz, the
# server's CPU per request, and B's req/s as a multiple of A's with the spread over rounds.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

A_DIR=${1:?bin dir of build A}
B_DIR=${2:?bin dir of build B}
ROUNDS=${3:-4}
SECONDS_PER_BURST=${4:-5}
CONNECTIONS=${5:-64}
PRODUCTS="${PRODUCTS:-1000}"
DAYS="${DAYS:-60}"
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

declare -A port server
start() { # name bin-dir port
  local name=$1 dir=$2
  port[$name]=$3
  cp "$FILLED_DB" "${workdir}/${name}.db"
  DATABASE_URL="sqlite://${workdir}/${name}.db" TICKETE_PRODUCTS="$(seq -s, 1 "$PRODUCTS")" \
    TICKETE_PARTNER_URL=http://127.0.0.1:9 TICKETE_ADMIN_TOKEN=compare-reads-admin-token RUST_LOG=warn \
    TICKETE_BIND="127.0.0.1:$3" TICKETE_PUBLIC_RATE_PER_MINUTE=0 \
    "$dir"/tickete-server >"${workdir}/${name}.log" 2>&1 &
  server[$name]=$!
  pids+=($!)
}
start A "$A_DIR" "${TICKETE_COMPARE_PORT_A:-3991}"
start B "$B_DIR" "${TICKETE_COMPARE_PORT_B:-3992}"
for name in A B; do
  for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:${port[$name]}/readyz" >/dev/null && break; sleep 0.1; done
  curl -fs "http://127.0.0.1:${port[$name]}/readyz" >/dev/null \
    || { echo "server $name is not ready:"; tail -20 "${workdir}/${name}.log"; exit 1; }
  # Syncing paused (as the fill left it; again, to be sure): neither server calls the
  # partner, an address nothing listens on, or writes inventory during the run.
  curl -fs -X POST -H "Authorization: Bearer compare-reads-admin-token" \
    "http://127.0.0.1:${port[$name]}/api/v1/sync/pause" >/dev/null
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
burst() { # name phase seconds -> "req/s server-µs/req"
  local name=$1 phase=$2 seconds=$3 args before out rps ticks
  case $phase in
    healthz) args=("http://127.0.0.1:${port[$name]}/healthz") ;;
    *) args=(-s "${workdir}/random.lua" "http://127.0.0.1:${port[$name]}") ;;
  esac
  before=$(cpu_ticks "${server[$name]}")
  out=$(LOAD_MODE=$phase wrk -t2 -c"$CONNECTIONS" -d"${seconds}s" "${args[@]}")
  if echo "$out" | grep -q "Non-2xx"; then echo "$name $phase: non-2xx answers:" >&2; echo "$out" >&2; exit 1; fi
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  ticks=$(( $(cpu_ticks "${server[$name]}") - before ))
  awk -v r="$rps" -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v s="$seconds" \
    'BEGIN {printf "%.0f %.1f\n", r, t / hz / (r * s) * 1e6}'
}

# Warm-up, not measured: start-up work and the first connections' buffers.
for name in A B; do burst "$name" slots 5 >/dev/null; done

phases=(healthz slots dates mixed)
declare -A rps_sum cpu_sum ratios
for round in $(seq 1 "$ROUNDS"); do
  order=(A B); (( round % 2 == 0 )) && order=(B A)
  for phase in "${phases[@]}"; do
    declare -A this=()
    for name in "${order[@]}"; do
      read -r rps cpu < <(burst "$name" "$phase" "$SECONDS_PER_BURST")
      this[$name]=$rps
      rps_sum[$name.$phase]=$(awk -v a="${rps_sum[$name.$phase]:-0}" -v b="$rps" 'BEGIN {print a + b}')
      cpu_sum[$name.$phase]=$(awk -v a="${cpu_sum[$name.$phase]:-0}" -v b="$cpu" 'BEGIN {print a + b}')
    done
    ratios[$phase]+="$(awk -v a="${this[A]}" -v b="${this[B]}" 'BEGIN {printf "%.2f", b / a}') "
  done
  echo "round $round of $ROUNDS done" >&2
done

echo "A = $A_DIR, B = $B_DIR; ${ROUNDS} rounds of ${SECONDS_PER_BURST} s bursts, ${CONNECTIONS} connections, ${PRODUCTS} products × ${DAYS} days"
printf '%-8s %10s %10s %9s %9s %9s %9s  %-8s %s\n' phase "A req/s" "B req/s" "A ratio" "B ratio" "A µs/req" "B µs/req" "B ÷ A" "(per round)"
mean() { awk -v s="$1" -v n="$ROUNDS" 'BEGIN {printf "%.0f", s / n}'; }
for phase in "${phases[@]}"; do
  a=$(mean "${rps_sum[A.$phase]}"); b=$(mean "${rps_sum[B.$phase]}")
  ah=$(mean "${rps_sum[A.healthz]}"); bh=$(mean "${rps_sum[B.healthz]}")
  printf '%-8s %10s %10s %9.2f %9.2f %9.1f %9.1f  %-8.2f %s\n' "$phase" "$a" "$b" \
    "$(awk -v x="$a" -v y="$ah" 'BEGIN {print x / y}')" "$(awk -v x="$b" -v y="$bh" 'BEGIN {print x / y}')" \
    "$(awk -v s="${cpu_sum[A.$phase]}" -v n="$ROUNDS" 'BEGIN {print s / n}')" \
    "$(awk -v s="${cpu_sum[B.$phase]}" -v n="$ROUNDS" 'BEGIN {print s / n}')" \
    "$(awk -v x="$b" -v y="$a" 'BEGIN {print x / y}')" "${ratios[$phase]}"
done
echo "peak RSS: A $(awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/${server[A]}/status") MB, B $(awk '/^VmHWM/ {printf "%.0f", $2/1024}' "/proc/${server[B]}/status") MB; load average $(cut -d' ' -f1-3 /proc/loadavg)"
