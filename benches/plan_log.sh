#!/usr/bin/env bash
# What `sync --plan` costs beside the same sync without it: the release `ecwid-stock` against
# `ecwid-stock fake --products N` (a fresh fake for each run, so both apply the same changes),
# measured with /usr/bin/time -v. The sync FILE is a snapshot of the catalog with every fifth
# quantity (column 4) raised by one.
#
#   cargo build --release -p ecwid-stock
#   SYNC_ROWS=100000 benches/plan_log.sh      # products in the fake (default 10000)
#
# Prints one line per run: wall seconds, CPU seconds (user + system), peak memory (MB), and
# the plan file's size at its largest (for --plan).
set -euo pipefail
products=${SYNC_ROWS:-10000}
bin=${ECWID_STOCK:-${CARGO_TARGET_DIR:-target}/release/ecwid-stock}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

start_fake() {
  rm -f "$work/fake.out"
  "$bin" fake --products "$products" > "$work/fake.out" &
  fake_pid=$!
  until grep -q ECWID_TOKEN "$work/fake.out" 2>/dev/null; do sleep 0.1; done
  eval "$(grep 'export ' "$work/fake.out" | sed 's/^ *//')"
}

stop_fake() { kill -INT "$fake_pid"; wait "$fake_pid" 2>/dev/null || true; }

start_fake
"$bin" snapshot > "$work/snapshot.csv"
stop_fake
# Every fifth row with a count gets one more.
awk -F, 'NR == 1 { print; next } { n++ } n % 5 == 0 && $4 ~ /^[0-9]+$/ { $4 = $4 + 1 } { print }' OFS=, \
  "$work/snapshot.csv" > "$work/stock.csv"
rows=$(($(wc -l < "$work/stock.csv") - 1))

measure() {
  local name=$1; shift
  start_fake
  local largest=0
  if [ "$name" = "--plan" ]; then
    ( while sleep 0.05; do
        [ -f "$work/plan.log" ] && stat -c %s "$work/plan.log" >> "$work/sizes" || true
      done ) &
    local watcher=$!
  fi
  /usr/bin/time -v "$bin" "$@" --quiet 2> "$work/time" || { cat "$work/time" >&2; exit 1; }
  if [ "$name" = "--plan" ]; then
    kill "$watcher"; wait "$watcher" 2>/dev/null || true
    largest=$(cat "$work/sizes" 2>/dev/null | sort -n | tail -1 || true); rm -f "$work/sizes"
  fi
  stop_fake
  awk -v name="$name" -v rows="$rows" -v largest="${largest:-0}" '
    /Elapsed \(wall clock\)/ { n = split($NF, t, ":"); wall = (n == 3) ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2] }
    /User time/ { user = $NF } /System time/ { sys = $NF }
    /Maximum resident/ { mem = $NF / 1024 }
    END { printf "%-10s rows %d: wall %.2f s, CPU %.2f s, peak %.0f MB, plan file at most %.1f MB\n",
          name, rows, wall, user + sys, mem, largest / 1e6 }' "$work/time"
}

measure "no plan" sync "$work/stock.csv"
measure "--plan" sync "$work/stock.csv" --plan "$work/plan.log"
