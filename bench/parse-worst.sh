#!/bin/sh
# parse-worst.sh: what the worst snapshot files under nictab's input caps
# cost the real binary. It writes the shapes BenchmarkParseWorst measures
# (snapshots/format/bench_parse_test.go) to a temporary directory and runs
# `nictab export ip -f FILE` on each (the file is read and parsed, then
# refused for its content; no kernel is touched), printing the wall time
# and peak RSS of each, the worst of -runs N (default 5). Exits non-zero
# when a file takes 1 s or 100 MB or more.
set -eu
runs=5
[ "${1:-}" = "-runs" ] && runs=$2
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
go build -o "$tmp/nictab" ./cmd/nictab
mkdir "$tmp/files"
NICTAB_WORST_DIR="$tmp/files" go test -count=1 -run '^TestWriteWorstFiles$' ./snapshots/format/ >/dev/null
if ! [ -x /usr/bin/time ]; then
	echo "parse-worst.sh needs /usr/bin/time (Debian: apt-get install time)" >&2
	exit 1
fi
fail=0
printf '%-16s %9s %10s %10s\n' FILE BYTES SECONDS PEAK_MB
for f in "$tmp"/files/*.yaml; do
	worst_s=0 worst_kb=0
	i=0
	while [ "$i" -lt "$runs" ]; do
		/usr/bin/time -f '%e %M' -o "$tmp/t" "$tmp/nictab" --state-dir "$tmp/state" export ip -f "$f" >/dev/null 2>&1 || true
		read -r s kb <<-EOT
		$(tail -n 1 "$tmp/t")
		EOT
		worst_s=$(echo "$s $worst_s" | awk '{print ($1 > $2) ? $1 : $2}')
		worst_kb=$(( kb > worst_kb ? kb : worst_kb ))
		i=$((i + 1))
	done
	mb=$(echo "$worst_kb" | awk '{printf "%.1f", $1 / 1024}')
	printf '%-16s %9d %10s %10s\n' "$(basename "$f" .yaml)" "$(wc -c <"$f")" "$worst_s" "$mb"
	if awk -v s="$worst_s" -v m="$mb" 'BEGIN { exit !(s >= 1 || m >= 100) }'; then
		fail=1
	fi
done
[ "$fail" = 0 ] && echo PASS || { echo FAIL; exit 1; }
