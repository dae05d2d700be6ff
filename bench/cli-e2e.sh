#!/usr/bin/env bash
# Times the commands a person runs, end to end, with ROUTES routes in the
# file and in the history (default 100k), in one run, in network
# namespaces made for it and deleted after it:
#   - the limit: a raw pipelined rtnetlink writer (bench/vsip/raw.go)
#     adding and deleting the same routes, in each repetition;
#   - `nictab plan -f`, `nictab apply -f --yes` (file to confirmed
#     snapshot), `snapshot list` (beside an empty history), `snapshot
#     show` of the big snapshot, `rollback --yes` (deleting them again),
#     medians of RUNS, with peak RSS (/usr/bin/time);
#   - the terminal UI's first full frame (bench/ttystart, a pty that never
#     answers), medians of 15: with an empty history, with the history the
#     applies left, and with one snapshot of ROUTES resolved routes.
# It prints the load average with the figures, and README table rows.
#
# Usage: sudo bench/cli-e2e.sh [ROUTES [RUNS]]   (PREFIX=name for the
# namespaces; default clie2e<pid>)
set -euo pipefail

routes="${1:-100000}"
runs="${2:-5}"
prefix="${PREFIX:-clie2e$$}"
if [ "$(id -u)" -ne 0 ]; then
	echo "cli-e2e.sh: run as root: it creates network namespaces and writes routes in them" >&2
	exit 2
fi
for tool in ip go awk /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "cli-e2e.sh: $tool is needed" >&2; exit 2; }
done
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
cleanup() {
	for ns in $(ip netns list | awk -v p="$prefix-" 'index($1, p) == 1 { print $1 }'); do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "building…" >&2
go build -o "$work/nictab" ./cmd/nictab
go build -o "$work/vsip" ./bench/vsip
go build -o "$work/ttystart" ./bench/ttystart
go build -o "$work/mkhistory" ./bench/mkhistory

echo "kernel $(uname -r), $(nproc) CPUs, $(uptime)"
"$work/vsip" -nictab "$work/nictab" -only cli -runs "$runs" -routes "$routes" -prefix "$prefix" -keep-state "$work/state"
echo "after the commands: $(uptime)"

ns="$prefix-cli"
mkdir -p -m 0700 "$work/big/netns"
"$work/mkhistory" -dir "$work/big/netns/$ns" -routes "$routes"
# tui STATE: the median first full frame, in ms ("" for an empty history).
tui() {
	local args=(-bin "$work/nictab" -n 15 -only tui -ns "$ns")
	[ -n "$1" ] && args+=(-state "$1")
	"$work/ttystart" "${args[@]}" | awk '/first full frame/ { for (i = 1; i <= NF; i++) if ($i == "median") print $(i + 1) }'
}
e=$(tui "")
a=$(tui "$work/state")
b=$(tui "$work/big")
echo "after the terminal UI: $(uptime)"
awk -v e="$e" -v a="$a" -v b="$b" -v n="$routes" 'BEGIN {
	printf "\n| terminal UI, first full frame (median of 15) | time | ratio (target ≤ 1.10×) |\n|---|---:|---:|\n"
	printf "| empty history | %.1f ms | |\n", e
	printf "| after the applies (newest: %d routes in intent and resolved) | %.1f ms | %.3f× |\n", n, a, a / e
	printf "| one snapshot of %d resolved routes | %.1f ms | %.3f× |\n", n, b, b / e
}'
