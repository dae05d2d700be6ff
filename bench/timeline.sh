#!/usr/bin/env bash
# Where the time of `nictab apply -f --yes` and of the `rollback --yes` after
# it goes, phase by phase, on the binary a person runs built with -tags
# profile (internal/timeline): ROUTES routes (default 100k) in a file of one
# `{table, to, via, dev}` line each, RUNS repetitions (default 5), in a
# network namespace made for it and deleted after it. Prints, per phase,
# the median of the time since the mark before and since the start.
#
# Usage: sudo bench/timeline.sh [ROUTES [RUNS]]   (NICTAB=BINARY times that
# binary, built with -tags profile, instead of one built from this tree)
set -euo pipefail

routes="${1:-100000}"
runs="${2:-5}"
ns="timeline$$"
if [ "$(id -u)" -ne 0 ]; then
	echo "timeline.sh: run as root: it creates a network namespace and writes routes in it" >&2
	exit 2
fi
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
cleanup() {
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "/etc/netns/$ns" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ -n "${NICTAB:-}" ]; then
	cp "$NICTAB" "$work/nictab"
else
	go build -tags profile -o "$work/nictab" ./cmd/nictab
fi
ip netns add "$ns"
ip -n "$ns" link add sc0 type veth peer name sc1
ip -n "$ns" link set sc0 up
ip -n "$ns" link set sc1 up
ip -n "$ns" addr add 10.0.0.1/16 dev sc0
# The routes of bench/vsip's cli rows: /24s spread over 1.0.0.0–221.255.255.0.
awk -v n="$routes" 'BEGIN {
	span = 220 * 65536
	print "version: 1"; printf "comment: %d routes\n", n; print "routes:"
	for (i = 0; c < n; i++) {
		a = 16777216 + (i * 2654435761 % span) * 256
		o1 = int(a / 16777216); o2 = int(a / 65536) % 256; o3 = int(a / 256) % 256
		if (o1 == 10 || o1 == 127) continue
		printf "  - {table: 100, to: %d.%d.%d.0/24, via: 10.0.0.2, dev: sc0}\n", o1, o2, o3
		c++
	}
}' >"$work/routes.yaml"
mkdir -m 0700 "$work/state"

# timed NAME ARGS...: one run, its marks appended to $work/NAME.marks as
# "RUN MICROSECONDS PHASE", the run's wall time as "RUN TOTAL_US end".
timed() {
	local name="$1" run="$2"
	shift 2
	rm -f "$work/one"
	local t0 t1
	t0=$(date +%s%6N)
	NICTAB_TIMELINE="$work/one" "$work/nictab" --netns "$ns" --state-dir "$work/state" "$@" >/dev/null
	t1=$(date +%s%6N)
	awk -v r="$run" '{ print r, $1, substr($0, index($0, $2)) }' "$work/one" >>"$work/$name.marks"
	echo "$run $((t1 - t0)) process ended" >>"$work/$name.marks"
}
for run in $(seq "$runs"); do
	timed apply "$run" apply -f "$work/routes.yaml" --yes -m timeline
	timed rollback "$run" rollback --steps 1 --yes -m "timeline back"
done

echo "kernel $(uname -r), $(nproc) CPUs, $routes routes, medians of $runs runs, $(uptime)"
for name in apply rollback; do
	echo
	echo "| \`nictab $name\` phase ended | ms since the mark before | ms since the start |"
	echo "|---|---:|---:|"
	awk '
	function median(list,   n, v, i, j, t) {
		n = split(list, v, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	{
		run = $1; us = $2; phase = substr($0, index($0, $3))
		if (!(phase in seen)) { seen[phase] = 1; order[++k] = phase }
		step[phase] = step[phase] " " (us - (run in last ? last[run] : 0)) / 1000
		at[phase] = at[phase] " " us / 1000
		last[run] = us
	}
	END { for (i = 1; i <= k; i++) printf "| %s | %.1f | %.1f |\n", order[i], median(step[order[i]]), median(at[order[i]]) }
	' "$work/$name.marks"
done
