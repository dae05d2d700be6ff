#!/usr/bin/env bash
# Times `nictab snapshot list` end to end (process start to exit) with a
# history holding a snapshot of 100k routes, against an empty history, and
# prints the medians of 5 and their ratio (target ≤ 1.10×). A third row
# lists the same history with its listing index removed: every file parsed,
# as before the index (and as after any damage to it).
#
# It reads and writes only temporary state directories (--state-dir); no
# network namespace or root is needed. Usage: bench/snapshot-list.sh [ROUTES [RUNS]]
set -euo pipefail

routes="${1:-100000}"
runs="${2:-5}"
for tool in go awk; do command -v "$tool" >/dev/null || { echo "snapshot-list.sh: $tool is needed" >&2; exit 2; }; done
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT INT TERM HUP

go build -o "$work/nictab" ./cmd/nictab
go build -o "$work/mkhistory" ./bench/mkhistory
mkdir -m 0700 "$work/empty"
"$work/mkhistory" -dir "$work/big" -routes "$routes"
cp -a "$work/big" "$work/noindex"
rm "$work/noindex/snapshots/.index"
big_bytes=$(du -b "$work/big/snapshots" | cut -f1)

# once DIR: nanoseconds one `nictab snapshot list` took.
once() {
	local t0 t1
	t0=$(date +%s%N)
	"$work/nictab" --state-dir "$1" snapshot list >/dev/null
	t1=$(date +%s%N)
	echo $((t1 - t0))
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Warm the page cache and the binary once, then alternate the histories
# so that drift of the machine falls on all of them alike.
for d in empty big noindex; do once "$work/$d" >/dev/null; done
: >"$work/t.empty"; : >"$work/t.big"; : >"$work/t.noindex"
for _ in $(seq "$runs"); do
	for d in empty big noindex; do once "$work/$d" >>"$work/t.$d"; done
done
e=$(median <"$work/t.empty"); b=$(median <"$work/t.big"); n=$(median <"$work/t.noindex")
echo "kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); history: 2 snapshots of 1 route + 1 of $routes routes ($big_bytes bytes)"
awk -v e="$e" -v b="$b" -v n="$n" -v runs="$runs" -v routes="$routes" 'BEGIN {
	printf "| nictab snapshot list | median of %d | ratio |\n|---|---:|---:|\n", runs
	printf "| empty history | %.1f ms | |\n", e / 1e6
	printf "| with the %d-route snapshot | %.1f ms | %.3f× |\n", routes, b / 1e6, b / e
	printf "| the same, listing index removed | %.1f ms | %.3f× |\n", n / 1e6, n / e
	if (b / e <= 1.10) { print "PASS"; exit 0 }
	print "FAIL: target ≤ 1.10×"; exit 1
}'
