#!/usr/bin/env bash
# Times `nictab plan -f` with the SSH guard on and off, with 1M routes in
# main and a plan of about 1k ops (issue 18: on ≤ 1.2× off), in a sandbox
# namespace made for the run and deleted after it. Needs root and about
# 1 GB of free memory for the kernel's copy of the routes. Extra arguments
# go to bench/guardscale (-routes N, -ops N, -runs N, -prefix NAME).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
	echo "guard-scale.sh: run as root: it creates network namespaces and writes routes in them" >&2
	exit 2
fi
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
go build -o "$work/nictab" ./cmd/nictab
go build -o "$work/guardscale" ./bench/guardscale
echo "kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(awk '/MemAvailable/ {printf "%.1f GB", $2/1048576}' /proc/meminfo) available" >&2
"$work/guardscale" -nictab "$work/nictab" "$@"
