#!/usr/bin/env bash
# The freshness simulation over several worlds, each policy side by side on the same truth:
# stale reads of the freshness policy as a ratio of nearest-date-first's, warm (a simulated
# day of warm-up, then HOURS measured) and cold (the first COLD_HOURS from an empty store,
# about the time it takes to fetch the month once).
#
#   bash benches/freshness_worlds.sh [hours] [cold hours]
#
# Over budget, a catalogue of N products gets round(30 × N / 450) calls a minute, about 1.6
# times short as 450 products are at 30. WORLDS picks rows by name (e.g. WORLDS="w28 w450").
# The "within200" world is within budget, with the binaries' spare share of 1.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

HOURS="${1:-24}"
COLD_HOURS="${2:-6}"
# name products rate zipf closed-days spare-share
all_worlds=(
  "w28 28 2 1.1 0.2 0"
  "w200 200 13 1.1 0.2 0"
  "w450 450 30 1.1 0.2 0"
  "zipf0.8 200 13 0.8 0.2 0"
  "zipf1.4 200 13 1.4 0.2 0"
  "closed0.5 200 13 1.1 0.5 0"
  "within200 200 30 1.1 0.2 1"
)

# One build for every world (FRESHNESS_BIN runs a binary kept from another build instead).
bin="${FRESHNESS_BIN:-}"
if [[ -z $bin ]]; then
  bin=$(cargo bench -p tickete-core --bench freshness --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(.*\))$/\1/p')
fi

# The stale-read share of `policy` in the "== all runs ==" table of a run's output.
stale_of() {
  awk -v policy="$1" '/== all runs ==/ { all = 1 } all && $2 == policy { print $6; exit }'
}

run_world() {
  local products=$1 rate=$2 zipf=$3 closed=$4 spare=$5 warm_up=$6 hours=$7
  FRESHNESS_RATE=$rate FRESHNESS_ZIPF=$zipf FRESHNESS_CLOSED_DAYS=$closed \
    FRESHNESS_SPARE_SHARE=$spare FRESHNESS_WARM_UP_MINUTES=$warm_up \
    "$bin" "$products" "$hours"
}

echo "| world | products | calls/min | Zipf | closed days | spare | mode | nearest-date-first | freshness | ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for world in "${all_worlds[@]}"; do
  read -r name products rate zipf closed spare <<<"$world"
  if [[ -n "${WORLDS:-}" && " $WORLDS " != *" $name "* ]]; then
    continue
  fi
  for mode in warm cold; do
    if [[ $mode == warm ]]; then
      output=$(run_world "$products" "$rate" "$zipf" "$closed" "$spare" 1440 "$HOURS")
    else
      output=$(run_world "$products" "$rate" "$zipf" "$closed" "$spare" 0 "$COLD_HOURS")
    fi
    nearest=$(stale_of nearest-date-first <<<"$output")
    fresh=$(stale_of freshness <<<"$output")
    ratio=$(awk -v a="$fresh" -v b="$nearest" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    closed_share=$(awk -v c="$closed" 'BEGIN { printf "%d", c * 100 }')
    echo "| $name | $products | $rate | $zipf | $closed_share % | $spare | $mode | $nearest % | $fresh % | $ratio |"
  done
done
