#!/bin/sh
# Shell script written by nictab 0.2.0.
# From snapshot 20250301T101500Z-4f2a (2025-03-01T10:15:00Z) of host homeserver, saved by nictab 0.1.0.
# Comment: openvpn NIC to its own table
#
# It recreates the snapshot's rules, routes and table names with ip, as nictab
# applied them, so nictab owns them afterwards. Run it as root; run it again
# and nothing changes. It only adds: rules and routes added since the snapshot
# stay (nictab rollback removes them). Table names go to
# $IPROUTE2_DIR/rt_tables.d/nictab.conf, /etc/iproute2 unless IPROUTE2_DIR
# says otherwise.
set -eu
IPROUTE2_DIR=${IPROUTE2_DIR:-/etc/iproute2}

# Names of the tables, and of nictab's routing protocol.
nictab_names() {
	mkdir -p "$IPROUTE2_DIR/rt_tables.d" "$IPROUTE2_DIR/rt_protos.d" &&
	printf '%s\n' '# Routing table names managed by nictab.' '13	vpn' '14	lan' >"$IPROUTE2_DIR/rt_tables.d/nictab.conf" &&
	printf '%s\n' '# The routing protocol number of rules and routes nictab installs.' '201	nictab' >"$IPROUTE2_DIR/rt_protos.d/nictab.conf"
}
if ! nictab_names 2>/dev/null; then
	echo "nictab: cannot write the table names under $IPROUTE2_DIR (read-only, as on NixOS?); rules and routes use numbers and work without them" >&2
fi

# Routes.
ip route replace 192.168.10.0/24 dev eno1 table 13 proto 201 scope link src 192.168.10.2
ip route replace default via 192.168.10.1 dev eno1 table 13 proto 201 scope global
ip route replace 192.168.20.0/24 dev enp2s0 table 14 proto 201 scope link src 192.168.20.2
ip route replace default via 192.168.20.1 dev enp2s0 table 14 proto 201 scope global
ip -6 route replace 2001:db8:10::/64 dev eno1 table 13 proto 201 src 2001:db8:10::2 metric 1024
ip -6 route replace default via 2001:db8:10::1 dev eno1 table 13 proto 201 metric 1024
ip -6 route replace 2001:db8:20::/64 dev enp2s0 table 14 proto 201 src 2001:db8:20::2 metric 1024
ip -6 route replace default via 2001:db8:20::1 dev enp2s0 table 14 proto 201 metric 1024

# Rules: every copy deleted, then one added.
while ip rule del from 192.168.10.2 lookup 13 proto 201 pref 1000 2>/dev/null; do :; done
ip rule add from 192.168.10.2 lookup 13 proto 201 pref 1000
while ip -6 rule del from 2001:db8:10::2 lookup 13 proto 201 pref 1000 2>/dev/null; do :; done
ip -6 rule add from 2001:db8:10::2 lookup 13 proto 201 pref 1000
while ip rule del from 192.168.20.2 lookup 14 proto 201 pref 1010 2>/dev/null; do :; done
ip rule add from 192.168.20.2 lookup 14 proto 201 pref 1010
while ip -6 rule del from 2001:db8:20::2 lookup 14 proto 201 pref 1010 2>/dev/null; do :; done
ip -6 rule add from 2001:db8:20::2 lookup 14 proto 201 pref 1010
