//go:build linux

package lookup_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/netcfg/lookup"
)

// traceNS makes a namespace with two NICs for the kernel subtlety tests.
func traceNS(t *testing.T, lines ...string) (*nstest.NS, netcfg.State) {
	t.Helper()
	ns := nstest.New(t)
	if out, err := exec.Command("ip", "netns", "exec", ns.Name, "sysctl", "-qw", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
		t.Fatalf("sysctl: %v: %s", err, out)
	}
	ns.Veth("a0", "a1", "10.1.0.2/24", "2001:db8:1::2/64")
	ns.Veth("b0", "b1", "10.2.0.2/24", "2001:db8:2::2/64")
	ns.Batch([]string{"route add default via 10.1.0.1 dev a0", "route add ::/0 via 2001:db8:1::1 dev a0"})
	// A batch cannot switch families, so each line is a command.
	for _, l := range lines {
		ns.IP(strings.Fields(l)...)
	}
	return ns, detectNS(t, ns)
}

func detectNS(t *testing.T, ns *nstest.NS) netcfg.State {
	t.Helper()
	k, err := kernel.Open(ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	s, err := netcfg.Detect(k, netcfg.Names{}, lookup.TraceDetectOptions())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func kernelGet(t *testing.T, ns *nstest.NS, args string) (get, fib kernelAnswer) {
	t.Helper()
	a := routeGet(t, ns, []string{"route get " + args, "route get " + args + " fibmatch"})
	return a[0], a[1]
}

// TestTraceKernelMergedTables: until a namespace has a rule of its own, the
// kernel keeps the local and main tables in one trie and reports a route of
// the local table as main's. The simulator names the table the route is
// in; the route, device and source are the same.
func TestTraceKernelMergedTables(t *testing.T) {
	ns, s := traceNS(t)
	get, _ := kernelGet(t, ns, "10.2.0.2")
	p := mustTrace(t, s, netcfg.Packet{Dst: ip("10.2.0.2")})
	if get.Table != "" || p.Table != netcfg.TableLocal {
		t.Errorf("kernel table %q (want none: main), simulator %d (want local)", get.Table, p.Table)
	}
	if get.Type != "2" || p.Verdict != lookup.VerdictLocal || get.Dev != p.Dev || get.Prefsrc != addrText(p.Src) {
		t.Errorf("kernel %v, simulator %s", get, pathText(&p))
	}
	// One rule anywhere splits the tables for good, and the kernel names
	// local from then on.
	ns.IP("rule", "add", "pref", "100", "to", "192.0.2.0/24", "lookup", "100")
	get, _ = kernelGet(t, ns, "10.2.0.2")
	if get.Table != "255" {
		t.Errorf("with a rule, the kernel says table %q, want 255", get.Table)
	}
}

// TestTraceKernelSubtleties pins the kernel behaviours the simulator
// copies, each of which the differential test can hit only by chance.
func TestTraceKernelSubtleties(t *testing.T) {
	ns, s := traceNS(t,
		"rule add pref 100 ipproto udp lookup 100",
		"route add 8.8.0.0/16 via 10.2.0.1 table 100",
		"rule add pref 110 uidrange 1000-2000 lookup 110",
		"route add 9.9.0.0/16 via 10.2.0.1 table 110",
		"rule add pref 120 tos 0x10 lookup 120",
		"route add 7.7.0.0/16 via 10.2.0.1 table 120",
		"rule add pref 130 ipproto icmp dport 7 lookup 130",
		"route add 6.6.0.0/16 via 10.2.0.1 table 130",
		"route add blackhole 5.5.0.0/16",
		"-6 rule add pref 100 from 2001:db8:1::/64 lookup 100",
		"-6 route add 2001:db8:8::/48 via 2001:db8:2::1 dev b0 table 100",
		"-6 rule add pref 110 uidrange 1000-2000 lookup 110",
		"-6 route add 2001:db8:9::/48 via 2001:db8:2::1 dev b0 table 110",
		"-6 rule add pref 130 ipproto udp dport 7 lookup 130",
		"-6 route add 2001:db8:6::/48 via 2001:db8:2::1 dev b0 table 130",
		// A gateway covered by a local route of the route's own table.
		"route add local 10.9.0.0/24 dev a0 table 140",
		"route add 4.4.0.0/16 via 10.9.0.1 dev a0 table 140",
		"rule add pref 140 to 4.4.0.0/16 lookup 140",
		// b1 is in group 7; the local default route of table 150 goes
		// through it.
		"link set b1 group 7",
		"-6 route add local ::/0 dev b1 table 150",
		"-6 rule add pref 150 from 2001:db8:2::9 lookup 150 suppress_ifgroup 7",
		"-6 rule add pref 151 from 2001:db8:2::8 lookup 150 suppress_ifgroup 0",
		// A gateway is looked up among routes of link or host scope only:
		// the global /24 does not count, the local /16 does.
		"route add local 10.8.0.0/16 dev a0 table 160",
		"route add 10.8.1.0/24 via 10.1.0.1 dev a0 table 160",
		"route add 3.3.0.0/16 via 10.8.1.1 dev a0 table 160",
		"rule add pref 160 to 3.3.0.0/16 lookup 160",
		// An unreachable route, and a wider route through b0.
		"-6 route add unreachable 2001:db8:5::/48",
		"-6 route add 2001:db8::/32 via 2001:db8:2::1 dev b0",
	)
	uid := uint32(1500)
	for _, c := range []struct {
		name  string
		args  string
		pkt   netcfg.Packet
		table uint32
	}{
		// `ip route get` routes an IPv4 packet as UDP when no protocol is
		// given; callers of Trace say so themselves.
		{"IPv4 route get defaults to UDP", "8.8.8.8", netcfg.Packet{Dst: ip("8.8.8.8"), IPProto: netcfg.ProtoUDP}, 100},
		{"IPv4 with another protocol", "8.8.8.8 ipproto tcp", netcfg.Packet{Dst: ip("8.8.8.8"), IPProto: netcfg.ProtoTCP}, netcfg.TableMain},
		// An arriving IPv4 packet is routed as root's, whatever uid is
		// asked for; IPv6 keeps it.
		{"IPv4 uid sent", "9.9.9.9 uid 1500", netcfg.Packet{Dst: ip("9.9.9.9"), UID: &uid, IPProto: netcfg.ProtoUDP}, 110},
		{"IPv4 uid arriving", "9.9.9.9 from 10.1.0.9 iif a0 uid 1500", netcfg.Packet{Dst: ip("9.9.9.9"), Src: ip("10.1.0.9"), IIF: "a0", UID: &uid, IPProto: netcfg.ProtoUDP}, netcfg.TableMain},
		{"IPv6 uid arriving", "2001:db8:9::1 from 2001:db8:1::9 iif a0 uid 1500", netcfg.Packet{Dst: ip("2001:db8:9::1"), Src: ip("2001:db8:1::9"), IIF: "a0", UID: &uid}, 110},
		// An IPv4 rule's tos is compared with the TOS bits 0x1c alone.
		{"IPv4 legacy tos", "7.7.7.7 tos 0x30", netcfg.Packet{Dst: ip("7.7.7.7"), Tos: 0x30, IPProto: netcfg.ProtoUDP}, 120},
		// Ports count for any protocol on a packet the host sends, and
		// only for TCP and UDP on an arriving IPv4 one; IPv6 reads them
		// whatever the protocol.
		{"IPv4 icmp port sent", "6.6.6.6 ipproto icmp dport 7", netcfg.Packet{Dst: ip("6.6.6.6"), IPProto: netcfg.ProtoICMP, DPort: 7}, 130},
		{"IPv4 icmp port arriving", "6.6.6.6 from 10.1.0.9 iif a0 ipproto icmp dport 7", netcfg.Packet{Dst: ip("6.6.6.6"), Src: ip("10.1.0.9"), IIF: "a0", IPProto: netcfg.ProtoICMP, DPort: 7}, netcfg.TableMain},
		{"IPv6 port arriving without protocol", "2001:db8:6::1 from 2001:db8:1::9 iif a0 dport 7", netcfg.Packet{Dst: ip("2001:db8:6::1"), Src: ip("2001:db8:1::9"), IIF: "a0", DPort: 7}, netcfg.TableMain},
		{"IPv6 udp port arriving", "2001:db8:6::1 from 2001:db8:1::9 iif a0 ipproto udp dport 7", netcfg.Packet{Dst: ip("2001:db8:6::1"), Src: ip("2001:db8:1::9"), IIF: "a0", IPProto: netcfg.ProtoUDP, DPort: 7}, 130},
		// An IPv6 `from` rule cannot match before there is a source.
		{"IPv6 from without source", "2001:db8:8::1", netcfg.Packet{Dst: ip("2001:db8:8::1")}, netcfg.TableMain},
		{"IPv6 from with source", "2001:db8:8::1 from 2001:db8:1::2", netcfg.Packet{Dst: ip("2001:db8:8::1"), Src: ip("2001:db8:1::2")}, 100},
		// The kernel does not send through a gateway that resolved to a
		// local route when its route was added.
		{"IPv4 gateway resolved to a local route", "4.4.4.4", netcfg.Packet{Dst: ip("4.4.4.4"), IPProto: netcfg.ProtoUDP}, 140},
		{"IPv4 gateway resolved among link and host routes", "3.3.3.3", netcfg.Packet{Dst: ip("3.3.3.3"), IPProto: netcfg.ProtoUDP}, 160},
		// IPv6 refusing routes go through lo, so a lookup that must leave
		// through b0 passes over them; one that need not takes them.
		{"IPv6 strict oif passes a reject route", "2001:db8:5::1 oif b0", netcfg.Packet{Dst: ip("2001:db8:5::1"), OIF: "b0"}, netcfg.TableMain},
		{"IPv6 reject route without oif", "2001:db8:5::1", netcfg.Packet{Dst: ip("2001:db8:5::1")}, netcfg.TableMain},
		// IPv6 suppress_ifgroup looks at the next hop's device, also for a
		// route to this host, whose packets go to the loopback device.
		{"IPv6 suppress_ifgroup of a local route's device", "2001:db8:77::1 from 2001:db8:2::9", netcfg.Packet{Dst: ip("2001:db8:77::1"), Src: ip("2001:db8:2::9")}, netcfg.TableMain},
		{"IPv6 suppress_ifgroup of another group", "2001:db8:77::1 from 2001:db8:2::8", netcfg.Packet{Dst: ip("2001:db8:77::1"), Src: ip("2001:db8:2::8")}, 150},
		// Bound to a device, an IPv4 packet leaves through it even past a
		// blackhole route.
		{"IPv4 oif past a blackhole", "5.5.5.5 oif b0", netcfg.Packet{Dst: ip("5.5.5.5"), OIF: "b0", IPProto: netcfg.ProtoUDP}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			get, fib := kernelGet(t, ns, c.args)
			p := mustTrace(t, s, c.pkt)
			if diff := compareTrace(&p, tracePacket{pkt: c.pkt, args: c.args}, get, fib); diff != "" {
				t.Errorf("ip route get %s: %s\nkernel %v\nsimulator %s", c.args, diff, get, pathText(&p))
			}
			if (c.table == 140 || c.table == 160) && (p.Gateway.IsValid() || get.Gateway != "") {
				t.Errorf("gateway: kernel %q, simulator %s; want none", get.Gateway, p.Gateway)
			}
			if p.Table != c.table {
				t.Errorf("simulator table %d, want %d\n%s", p.Table, c.table, stepsText(&p))
			}
		})
	}
	// The blackhole stops an unbound packet.
	get, _ := kernelGet(t, ns, "5.5.5.5")
	p := mustTrace(t, s, netcfg.Packet{Dst: ip("5.5.5.5")})
	if get.Err != "Invalid argument" || p.Verdict != lookup.VerdictBlackhole || !strings.Contains(p.Reason, "blackhole") {
		t.Errorf("kernel %v, simulator %s", get, pathText(&p))
	}
}
