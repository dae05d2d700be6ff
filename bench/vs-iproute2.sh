#!/usr/bin/env bash
# Times nictab beside iproute2's ip on the same work, in the same network
# namespaces, in one run, and prints medians, ratios and PASS/FAIL against
# the targets of bench/README.md. Needs root: everything happens in
# namespaces made for the run and deleted after it, also when it is
# interrupted. Extra arguments go to the benchmark program (bench/vsip),
# e.g. -runs 5 or -only apply,rules.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "vs-iproute2.sh: run as root: it creates network namespaces and writes routes in them" >&2
	exit 2
fi
for tool in ip go /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "vs-iproute2.sh: $tool is needed" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
trap 'rm -rf "$work"; exit 130' INT TERM HUP

echo "building nictab and the benchmark program…" >&2
go build -o "$work/nictab" ./cmd/nictab
go build -o "$work/vsip" ./bench/vsip

echo "kernel $(uname -r), $(ip -V), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# The program takes the shell's place, so that a signal reaches it at once:
# on every way out it deletes the namespaces it made, then the build
# directory.
trap - EXIT INT TERM HUP
exec "$work/vsip" -nictab "$work/nictab" -rmdir "$work" "$@"
