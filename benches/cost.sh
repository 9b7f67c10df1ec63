#!/usr/bin/env bash
# How the cost of the large jobs grows with the catalog: the release `ecwid-stock` against
# `ecwid-stock fake --products N` running in another process, each command measured alone with
# `/usr/bin/time -v` (wall time, CPU time user + system, peak resident memory of the client's
# process only) and its requests as the command reports them. Per size N:
#
# - snapshot: the whole catalog of N products (its items: about 2.3 per product);
# - sync: a warehouse file of N rows (the snapshot's first N SKUs, every fifth count changed)
#   applied without a plan, then, on a fresh fake, the same with `--plan`;
# - journal: `benches/journal.rs` with JOURNAL_EVENTS=N (the bench's whole process, its fake
#   Ecwid store inside it; sizes from JOURNAL_SIZES).
#
# Usage: benches/cost.sh
# Environment: COST_SIZES (default "10000 100000 1000000"; a size the fake refuses is reported
# and skipped), JOURNAL_SIZES (default "10000"; its baseline sends one call per event, so
# 100000 takes minutes), ECWID_STOCK (a built binary to measure instead of building one),
# CARGO_TARGET_DIR as cargo reads it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
sizes=${COST_SIZES:-10000 100000 1000000}
journal_sizes=${JOURNAL_SIZES-10000}

if [ -n "${ECWID_STOCK:-}" ]; then
    bin=$ECWID_STOCK
else
    cargo build --quiet --release -p ecwid-stock --manifest-path "$root/Cargo.toml"
    bin=$target/release/ecwid-stock
fi

work=$(mktemp -d)
fake_pid=
cleanup() {
    if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

rows=()

# Starts the fake with N products; fails when it does not come up.
start_fake() {
    stop_fake
    "$bin" fake --products "$1" >"$work/fake.out" 2>&1 &
    fake_pid=$!
    for _ in $(seq 1 600); do
        if grep -q "listens on" "$work/fake.out" 2>/dev/null; then
            ECWID_API_URL=$(grep -o 'http://127.0.0.1:[0-9]*/api/v3' "$work/fake.out" | head -1)
            export ECWID_API_URL ECWID_STORE_ID=1003 ECWID_TOKEN=secret_token
            return 0
        fi
        if ! kill -0 "$fake_pid" 2>/dev/null; then
            fake_pid=
            return 1
        fi
        sleep 0.5
    done
    return 1
}

stop_fake() {
    if [ -n "$fake_pid" ]; then
        kill "$fake_pid" 2>/dev/null || true
        wait "$fake_pid" 2>/dev/null || true
        fake_pid=
    fi
}

# measure SIZE WORK COMMAND...: runs the command under /usr/bin/time -v, its output in
# $work/out and $work/err, and notes wall, CPU and peak memory (requests added by the caller).
measure() {
    local size=$1 name=$2
    shift 2
    local status=0
    /usr/bin/time -v -o "$work/time" "$@" >"$work/out" 2>"$work/err" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "$name at $size exited $status:" >&2
        tail -5 "$work/err" >&2
    fi
    local wall user sys rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$work/time")
    user=$(awk -F': ' '/User time/ {print $2}' "$work/time")
    sys=$(awk -F': ' '/System time/ {print $2}' "$work/time")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
    last="$size|$name|$wall|$(echo "$user + $sys" | bc)|$((rss / 1024))"
}

for size in $sizes; do
    if ! start_fake "$size"; then
        echo "the fake does not serve $size products: $(tail -1 "$work/fake.out")" >&2
        continue
    fi
    measure "$size" snapshot "$bin" snapshot
    cp "$work/out" "$work/snapshot.csv"
    requests=$(tr '\r' '\n' <"$work/err" | grep -o 'in [0-9]* requests' | tail -1 | grep -o '[0-9]*' || echo "?")
    rows+=("$last|$requests")

    # The warehouse file: the snapshot's first N SKUs, every fifth count changed.
    awk -F, -v n="$size" 'NR == 1 { print "sku,quantity"; next }
        seen[$1]++ { next }
        { q = ($5 == "true") ? "unlimited" : $4
          if (++k % 5 == 0) q = (q == "unlimited") ? 7 : q + 1
          print $1 "," q; if (k >= n) exit }' "$work/snapshot.csv" >"$work/file.csv"
    file_rows=$(($(wc -l <"$work/file.csv") - 1))

    for plan in "" --plan; do
        # A fresh store each time: the first sync applied the changes the second would make.
        [ -z "$plan" ] || start_fake "$size"
        rm -f "$work/plan.json"
        if [ -z "$plan" ]; then
            measure "$size" "sync ($file_rows rows)" "$bin" --json sync "$work/file.csv"
        else
            measure "$size" "sync --plan ($file_rows rows)" "$bin" --json sync "$work/file.csv" --plan "$work/plan.json"
        fi
        requests=$(tail -1 "$work/out" | grep -o '"read_requests":[0-9]*,\|"write_requests":[0-9]*' |
            grep -o '[0-9]*' | paste -sd+ | bc || echo "?")
        rows+=("$last|$requests")
    done
    stop_fake
done

if [ -n "$journal_sizes" ]; then
    journal=$(cd "$root" && cargo bench --bench journal --no-run 2>&1 |
        grep -o '(.*/journal-[0-9a-f]*)' | tr -d '()' | tail -1)
    for size in $journal_sizes; do
        JOURNAL_EVENTS=$size measure "$size" "journal bench (whole process)" "$journal"
        requests=$(grep -o '[0-9]* requests' "$work/out" | head -1 | grep -o '[0-9]*' || echo "?")
        rows+=("$last|$requests")
        grep -i 'events\|drain\|record' "$work/out" | sed 's/^/    /' >&2 || true
    done
fi

echo
echo "| size | work | wall s | CPU s | peak MB | requests |"
echo "|---:|---|---:|---:|---:|---:|"
for row in "${rows[@]}"; do
    echo "| ${row//|/ | } |"
done
