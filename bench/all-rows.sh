#!/usr/bin/env bash
# Takes every row of the README's performance table (issue 18) in one go,
# RUNS times in a row (default 3), each script with its own medians of 5:
#   - netcfg.Apply against the raw-writer limit (vs-iproute2.sh -only apply,rules)
#   - the commands end to end with 100k routes (cli-e2e.sh 100000 5)
#   - bytes per keystroke over a pty (vs-iproute2.sh -only keys)
#   - a full Internet table in main (internet-main.sh -runs 9: its rows
#     are a few ms each, and the apply row is less a kernel share of
#     130 ms that moves by several)
#   - the guard at scale (guard-scale.sh -runs 9: its plans take 8-10 ms,
#     timed to the millisecond, and five of them put the ratio anywhere
#     from 1.04 to 1.23 in one hour)
# and, once after them, the commands with 1M routes (cli-e2e.sh 1000000 3).
# Each script prints its rows with the load average; this one only runs
# them in order and writes everything to OUT (default ./all-rows.log).
#
# Usage: sudo bench/all-rows.sh [RUNS]   (ONE_MILLION=0 skips the 1M rows)
set -euo pipefail
runs="${1:-3}"
out="${OUT:-all-rows.log}"
if [ "$(id -u)" -ne 0 ]; then
	echo "all-rows.sh: run as root: the scripts it runs create network namespaces" >&2
	exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
: >"$out"
for run in $(seq 1 "$runs"); do
	for step in "vs-iproute2.sh -only apply,rules -runs 5" "cli-e2e.sh 100000 5" \
		"vs-iproute2.sh -only keys" "internet-main.sh -runs 9" "guard-scale.sh -runs 9"; do
		echo "=== run $run of $runs: $step ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$out"
		# A script exits 1 when a row misses its target: the rows say
		# which, and the next script runs all the same.
		# shellcheck disable=SC2086
		bash "$here"/$step 2>&1 | tee -a "$out" || true
	done
done
if [ "${ONE_MILLION:-1}" != 0 ]; then
	echo "=== 1M routes: cli-e2e.sh 1000000 3 ($(date -u +%H:%M:%S))" | tee -a "$out"
	bash "$here/cli-e2e.sh" 1000000 3 2>&1 | tee -a "$out" || true
fi
