#!/bin/sh
# Shell script written by nictab 0.2.0.
# From snapshot 20250303T120000Z-0100 (2025-03-01T10:15:00Z) of host router, saved by nictab 0.1.0.
# Comment: VLANs to their own tables
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
	printf '%s\n' '# Routing table names managed by nictab.' '100	vlan100' '200	vlan200' >"$IPROUTE2_DIR/rt_tables.d/nictab.conf" &&
	printf '%s\n' '# The routing protocol number of rules and routes nictab installs.' '201	nictab' >"$IPROUTE2_DIR/rt_protos.d/nictab.conf"
}
if ! nictab_names 2>/dev/null; then
	echo "nictab: cannot write the table names under $IPROUTE2_DIR (read-only, as on NixOS?); rules and routes use numbers and work without them" >&2
fi

# Routes.
ip route replace blackhole 10.99.0.0/16 table 100 proto 201 scope global
ip route replace 10.100.0.0/24 dev eth0.100 table 100 proto 201 scope link src 10.100.0.2
ip route replace default via 10.100.0.1 dev eth0.100 table 100 proto 201 scope global
ip route replace 10.200.0.0/24 dev eth0.200 table 200 proto 201 scope link src 10.200.0.2
ip route replace default via 10.200.0.1 dev eth0.200 table 200 proto 201 scope global

# Rules: every copy deleted, then one added.
while ip rule del from 10.100.0.2 lookup 100 proto 201 pref 1000 2>/dev/null; do :; done
ip rule add from 10.100.0.2 lookup 100 proto 201 pref 1000
while ip rule del from all oif eth0.100 lookup 100 proto 201 pref 1000 2>/dev/null; do :; done
ip rule add from all oif eth0.100 lookup 100 proto 201 pref 1000
while ip rule del from all fwmark 0xc8 lookup 200 proto 201 pref 1010 2>/dev/null; do :; done
ip rule add from all fwmark 0xc8 lookup 200 proto 201 pref 1010
while ip rule del from all iif eth0.200 lookup 200 proto 201 pref 1010 2>/dev/null; do :; done
ip rule add from all iif eth0.200 lookup 200 proto 201 pref 1010
