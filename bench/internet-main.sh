#!/usr/bin/env bash
# Times, with a full Internet table in main (1M IPv4 and 200k IPv6 routes
# by default), `nictab show`, the terminal UI's first frame, and `plan` and
# `apply` of the seed scenario against the same namespace with main
# empty, interleaved in one run, and prints the ratios (medians of 5) as
# README table rows with the load average. Needs root: everything
# happens in namespaces made for the run and deleted after it. Extra
# arguments go to bench/vsip, e.g. -runs 3 or -main 500000 -main6 100000.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "internet-main.sh: run as root: it creates network namespaces and writes routes in them" >&2
	exit 2
fi
for tool in ip go free; do
	command -v "$tool" >/dev/null || { echo "internet-main.sh: $tool is needed" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
trap 'rm -rf "$work"; exit 130' INT TERM HUP

echo "building nictab and the benchmark program…" >&2
go build -o "$work/nictab" ./cmd/nictab
go build -o "$work/vsip" ./bench/vsip

# 1.2M routes take about 400 MB of kernel memory.
avail=$(free -m | awk '/^Mem:/ {print $7}')
if [ "$avail" -lt 2000 ]; then
	echo "internet-main.sh: only ${avail} MB available; pass a smaller -main and -main6" >&2
fi
echo "kernel $(uname -r), $(nproc) CPUs, ${avail} MB available, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
trap - EXIT INT TERM HUP
exec "$work/vsip" -nictab "$work/nictab" -rmdir "$work" -only internet "$@"
