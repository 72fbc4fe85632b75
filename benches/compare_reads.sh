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
# shellcheck source=benches/servers_on_fill.sh
source benches/servers_on_fill.sh
prepare_reads_on_fill

declare -A port=([A]="${TICKETE_COMPARE_PORT_A:-3991}" [B]="${TICKETE_COMPARE_PORT_B:-3992}") server
start_server_on_fill A "$A_DIR" "${port[A]}"
server[A]=$started_pid
start_server_on_fill B "$B_DIR" "${port[B]}"
server[B]=$started_pid

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
