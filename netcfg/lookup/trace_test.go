package lookup_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
)

func TestTraceHomeServer(t *testing.T) {
	base := traceState(t, homeServer)
	vpn := traceState(t, homeServer, `
		rule pref 1000 from 192.168.10.2 lookup 13 proto 201
		route 192.168.10.0/24 dev eno1 table 13 src 192.168.10.2 proto 201
		route default via 192.168.10.1 dev eno1 table 13 proto 201
		complete 13`)
	no, dec := lookup.StepNoMatch, lookup.StepDecided
	noRoute := lookup.StepNoRoute
	for _, c := range []struct {
		name string
		s    netcfg.State
		p    netcfg.Packet
		want want
	}{
		{"main's preferred default", base, netcfg.Packet{Dst: ip("8.8.8.8")}, want{
			verdict: lookup.VerdictRouted, rule: 32766, table: netcfg.TableMain, route: "default via 192.168.20.1 dev enp2s0 table 254 scope global metric 100",
			dev: "enp2s0", gw: "192.168.20.1", src: "192.168.20.2", results: []lookup.StepResult{noRoute, dec}}},
		{"the VPN NIC's own traffic goes to table 13", vpn, netcfg.Packet{Dst: ip("8.8.8.8"), Src: ip("192.168.10.2")}, want{
			verdict: lookup.VerdictRouted, rule: 1000, table: 13, route: "default via 192.168.10.1 dev eno1 table 13 proto 201 scope global",
			dev: "eno1", gw: "192.168.10.1", src: "192.168.10.2", results: []lookup.StepResult{noRoute, dec}}},
		{"other traffic passes rule 1000 by", vpn, netcfg.Packet{Dst: ip("8.8.8.8")}, want{
			verdict: lookup.VerdictRouted, rule: 32766, table: netcfg.TableMain, route: "default via 192.168.20.1 dev enp2s0 table 254 scope global metric 100",
			dev: "enp2s0", gw: "192.168.20.1", src: "192.168.20.2", results: []lookup.StepResult{noRoute, no, dec}}},
		{"an address of the host is local", base, netcfg.Packet{Dst: ip("192.168.10.2")}, want{
			verdict: lookup.VerdictLocal, rule: 0, table: netcfg.TableLocal, route: "local 192.168.10.2/32 dev eno1 table 255 scope host src 192.168.10.2",
			dev: "lo", src: "192.168.10.2"}},
		{"a subnet's broadcast", base, netcfg.Packet{Dst: ip("192.168.20.255")}, want{
			verdict: lookup.VerdictBroadcast, table: netcfg.TableLocal, route: "broadcast 192.168.20.255/32 dev enp2s0 table 255 scope link src 192.168.20.2",
			dev: "enp2s0", src: "192.168.20.2"}},
		{"a source the host does not have", base, netcfg.Packet{Dst: ip("8.8.8.8"), Src: ip("192.0.2.9")}, want{
			verdict: lookup.VerdictRefused, errno: lookup.ENETUNREACH}},
		{"IPv6 default", base, netcfg.Packet{Dst: ip("2001:4860::8888")}, want{
			verdict: lookup.VerdictRouted, rule: 32766, table: netcfg.TableMain, route: "default via 2001:db8:20::1 dev enp2s0 table 254 metric 100",
			dev: "enp2s0", gw: "2001:db8:20::1", src: "2001:db8:20::2"}},
		{"a forwarded packet", base, netcfg.Packet{Dst: ip("8.8.8.8"), Src: ip("192.168.10.77"), IIF: "eno1"}, want{
			verdict: lookup.VerdictRouted, rule: 32766, table: netcfg.TableMain, route: "default via 192.168.20.1 dev enp2s0 table 254 scope global metric 100",
			dev: "enp2s0", gw: "192.168.20.1", src: "192.168.10.77"}},
		{"an arriving packet from the host's own address is a martian", base, netcfg.Packet{Dst: ip("8.8.8.8"), Src: ip("192.168.20.2"), IIF: "eno1"}, want{
			verdict: lookup.VerdictRefused, errno: lookup.EINVAL, src: "192.168.20.2"}},
	} {
		t.Run(c.name, func(t *testing.T) { checkPath(t, mustTrace(t, c.s, c.p), c.want) })
	}
}

// TestTraceGotoLoop: a goto that jumps backwards is something the kernel
// refuses; a state that holds one (written by hand, or projected from a
// bad plan) is reported, never walked forever.
func TestTraceGotoLoop(t *testing.T) {
	s := traceState(t, homeServer, `
		rule pref 100 to 8.8.0.0/16 goto 200
		rule pref 200 to 8.8.8.0/24 goto 100`)
	p := mustTrace(t, s, netcfg.Packet{Dst: ip("8.8.8.8")})
	checkPath(t, p, want{verdict: lookup.VerdictLoop, errno: lookup.EINVAL, rule: 200,
		results: []lookup.StepResult{lookup.StepNoRoute, lookup.StepGoto, lookup.StepLoop}})
	if !strings.Contains(p.Reason, "jumps backwards") {
		t.Errorf("reason %q does not say the goto jumps backwards", p.Reason)
	}
	// A packet the looping rules do not match is routed as usual.
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("9.9.9.9")}), want{verdict: lookup.VerdictRouted, rule: 32766, table: netcfg.TableMain,
		route: "default via 192.168.20.1 dev enp2s0 table 254 scope global metric 100", dev: "enp2s0", gw: "192.168.20.1", src: "192.168.20.2"})
}

func TestTraceGoto(t *testing.T) {
	s := traceState(t, homeServer, `
		rule pref 100 from 192.168.10.2 goto 300
		rule pref 200 lookup 20
		rule pref 300 to 10.0.0.0/8 lookup 20
		rule pref 300 lookup 30
		rule pref 400 goto 500
		route default via 192.168.20.1 dev enp2s0 table 20
		route default via 192.168.10.1 dev eno1 table 30
		complete 20 30`)
	// The goto skips rule 200 and lands on the first rule of priority
	// 300, which does not match, then the second.
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("8.8.8.8"), Src: ip("192.168.10.2")}), want{
		verdict: lookup.VerdictRouted, rule: 300, table: 30, route: "default via 192.168.10.1 dev eno1 table 30 scope global",
		dev: "eno1", gw: "192.168.10.1", src: "192.168.10.2",
		results: []lookup.StepResult{lookup.StepNoRoute, lookup.StepGoto, lookup.StepNoMatch, lookup.StepDecided}})
	// Without a rule at 500 the goto at 400 does nothing.
	s = traceState(t, homeServer, `
		rule pref 400 goto 500
		rule pref 600 lookup 30
		route default via 192.168.10.1 dev eno1 table 30
		complete 30`)
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("8.8.8.8")}), want{
		verdict: lookup.VerdictRouted, rule: 600, table: 30, route: "default via 192.168.10.1 dev eno1 table 30 scope global",
		dev: "eno1", gw: "192.168.10.1", src: "192.168.10.2",
		results: []lookup.StepResult{lookup.StepNoRoute, lookup.StepGotoUnresolved, lookup.StepDecided}})
}

// TestTraceSuppressPrefixLength is wg-quick's pair of rules: main decides
// except for its default route, which the tunnel's table replaces.
func TestTraceSuppressPrefixLength(t *testing.T) {
	s := traceState(t, homeServer, `
		link 4 wg0 10.8.0.2/24
		rule pref 32764 lookup 254 suppress_prefixlength 0
		rule pref 32765 not fwmark 0xca6c lookup 51820
		route default dev wg0 table 51820
		route 10.8.0.0/24 dev wg0 scope link src 10.8.0.2
		complete 51820`)
	p := mustTrace(t, s, netcfg.Packet{Dst: ip("8.8.8.8")})
	checkPath(t, p, want{verdict: lookup.VerdictRouted, rule: 32765, table: 51820, route: "default dev wg0 table 51820 scope link",
		dev: "wg0", src: "10.8.0.2", results: []lookup.StepResult{lookup.StepNoRoute, lookup.StepSuppressed, lookup.StepDecided}})
	if got := p.Steps[1].Route; got == nil || !got.IsDefault() || got.Table != netcfg.TableMain {
		t.Errorf("the suppressed step shows route %v, want main's default", got)
	}
	// A more specific route of main is not suppressed.
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("192.168.10.9")}), want{verdict: lookup.VerdictRouted, rule: 32764, table: netcfg.TableMain,
		route: "192.168.10.0/24 dev eno1 table 254 scope link src 192.168.10.2", dev: "eno1", src: "192.168.10.2"})
	// The tunnel's own packets carry the mark and skip table 51820.
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("8.8.8.8"), Mark: 0xca6c}), want{verdict: lookup.VerdictRouted, rule: 32766, table: netcfg.TableMain,
		route: "default via 192.168.20.1 dev enp2s0 table 254 scope global metric 100", dev: "enp2s0", gw: "192.168.20.1", src: "192.168.20.2"})
}

func TestTraceThrowAndFallThrough(t *testing.T) {
	s := traceState(t, homeServer, `
		rule pref 100 lookup 20
		rule pref 200 lookup 21
		route default via 192.168.10.1 dev eno1 table 20
		route throw 10.0.0.0/8 table 20
		route 10.1.0.0/16 via 192.168.10.1 dev eno1 table 20
		route 10.0.0.0/8 via 192.168.20.1 dev enp2s0 table 21
		complete 20 21`)
	// The throw route is the longest match in table 20; the lookup goes
	// on to table 21.
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("10.2.3.4")}), want{verdict: lookup.VerdictRouted, rule: 200, table: 21,
		route: "10.0.0.0/8 via 192.168.20.1 dev enp2s0 table 21 scope global", dev: "enp2s0", gw: "192.168.20.1", src: "192.168.20.2",
		results: []lookup.StepResult{lookup.StepNoRoute, lookup.StepThrow, lookup.StepDecided}})
	// A longer prefix beats the throw route.
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("10.1.3.4")}), want{verdict: lookup.VerdictRouted, rule: 100, table: 20,
		route: "10.1.0.0/16 via 192.168.10.1 dev eno1 table 20 scope global", dev: "eno1", gw: "192.168.10.1", src: "192.168.10.2"})
	// Table 22 does not exist: the rule falls through.
	s = traceState(t, homeServer, "rule pref 100 lookup 22\ncomplete 22")
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("8.8.8.8")}), want{verdict: lookup.VerdictRouted, rule: 32766, table: netcfg.TableMain,
		route: "default via 192.168.20.1 dev enp2s0 table 254 scope global metric 100", dev: "enp2s0", gw: "192.168.20.1", src: "192.168.20.2",
		results: []lookup.StepResult{lookup.StepNoRoute, lookup.StepNoRoute, lookup.StepDecided}})
	// With main gone, nothing routes the packet.
	s = traceState(t, homeServer, "-rule 32766")
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("8.8.8.8")}), want{verdict: lookup.VerdictNoRoute, errno: lookup.ENETUNREACH})
}

func TestTraceRuleActions(t *testing.T) {
	for _, c := range []struct {
		action  string
		verdict lookup.Verdict
		errno   lookup.Errno
	}{
		{"blackhole", lookup.VerdictBlackhole, lookup.EINVAL},
		{"unreachable", lookup.VerdictUnreachable, lookup.ENETUNREACH},
		{"prohibit", lookup.VerdictProhibit, lookup.EACCES},
	} {
		s := traceState(t, homeServer, "rule pref 10 to 8.8.8.8 "+c.action)
		checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("8.8.8.8")}), want{verdict: c.verdict, errno: c.errno, rule: 10})
		// The same type as a route: unreachable routes say "host".
		s = traceState(t, homeServer, "route "+c.action+" 8.8.8.8 metric 5")
		errno := c.errno
		if c.action == "unreachable" {
			errno = lookup.EHOSTUNREACH
		}
		checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("8.8.8.8")}), want{verdict: c.verdict, errno: errno, rule: 32766,
			table: netcfg.TableMain, route: c.action + " 8.8.8.8/32 table 254 scope global metric 5"})
	}
}

func TestTraceIPv6(t *testing.T) {
	s := traceState(t, homeServer, `
		rule -6 pref 1000 from 2001:db8:10::/64 lookup 13
		route default via 2001:db8:10::1 dev eno1 table 13
		route unreachable 2001:db8:99::/48 table 13
		complete 13`)
	// Without a source the `from` rule cannot match: the kernel picks
	// the source after the lookup, from the NIC main leads to.
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("2001:4860::1")}), want{verdict: lookup.VerdictRouted, rule: 32766, table: netcfg.TableMain,
		route: "default via 2001:db8:20::1 dev enp2s0 table 254 metric 100", dev: "enp2s0", gw: "2001:db8:20::1", src: "2001:db8:20::2"})
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("2001:4860::1"), Src: ip("2001:db8:10::2")}), want{verdict: lookup.VerdictRouted, rule: 1000, table: 13,
		route: "default via 2001:db8:10::1 dev eno1 table 13 metric 1024", dev: "eno1", gw: "2001:db8:10::1", src: "2001:db8:10::2"})
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("2001:db8:99::1"), Src: ip("2001:db8:10::2")}), want{verdict: lookup.VerdictUnreachable,
		errno: lookup.EHOSTUNREACH, rule: 1000, table: 13, route: "unreachable 2001:db8:99::/48 table 13 metric 1024", src: "2001:db8:10::2"})
	// Bound to eno1 without a source, the lookup must leave through eno1:
	// main's preferred default through enp2s0 does not count.
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("2001:4860::1"), OIF: "eno1"}), want{verdict: lookup.VerdictRouted, rule: 32766, table: netcfg.TableMain,
		route: "default via 2001:db8:10::1 dev eno1 table 254 metric 200", dev: "eno1", gw: "2001:db8:10::1", src: "2001:db8:10::2"})
	// The host's own address.
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("2001:db8:20::2")}), want{verdict: lookup.VerdictLocal, rule: 0, table: netcfg.TableLocal,
		route: "local 2001:db8:20::2/128 dev enp2s0 table 255 metric 1024", dev: "lo", src: "2001:db8:20::2"})
}

// TestTraceOIFOnLink: an IPv4 packet bound to a device leaves through it
// even when no route does.
func TestTraceOIFOnLink(t *testing.T) {
	s := traceState(t, homeServer, "route blackhole 9.9.9.0/24")
	p := mustTrace(t, s, netcfg.Packet{Dst: ip("9.9.9.9"), OIF: "eno1"})
	checkPath(t, p, want{verdict: lookup.VerdictRouted, dev: "eno1", src: "192.168.10.2"})
	if p.Rule != nil || p.Route != nil {
		t.Errorf("an on-link guess names rule %v and route %v", p.Rule, p.Route)
	}
	s = traceState(t, homeServer, "link 4 eth9 down 10.9.0.2/24")
	checkPath(t, mustTrace(t, s, netcfg.Packet{Dst: ip("9.9.9.9"), OIF: "eth9"}), want{verdict: lookup.VerdictRefused, errno: lookup.ENETUNREACH})
}

func TestTraceSourceSelection(t *testing.T) {
	s := traceState(t, `
		link 1 lo lo 127.0.0.1/8 ::1/128 192.0.2.1/32
		link 2 eth0 169.254.3.3/16/link 10.0.0.2/24 10.0.0.3/24 10.5.0.2/16 fd00::2/64 2001:db8::2/64 2001:db8::3/64
		link 3 eth1 10.1.0.2/24 2001:db8:1::2/64
		rule pref 0 lookup 255
		rule pref 32766 lookup 254
		rule -6 pref 0 lookup 255
		rule -6 pref 32766 lookup 254
		route 10.9.0.0/16 dev eth0
		route 10.10.0.0/16 via 10.5.0.1 dev eth0
		route 10.11.0.0/16 via 10.5.0.1 dev eth0 src 10.1.0.2
		route 10.12.0.0/16 dev eth1 scope global
		route 10.13.0.0/16 dev lo scope link
		route 2001:db8:77::/48 dev eth0
		route fd00:77::/32 dev eth0
		route 2001:db8:1:5::/64 dev eth0
		complete 254 255`)
	for _, c := range []struct{ dst, src string }{
		{"10.9.9.9", "169.254.3.3"},        // link scope route: the first primary, a link address
		{"10.10.9.9", "10.5.0.2"},          // the address on the gateway's subnet
		{"10.11.9.9", "10.1.0.2"},          // the route's own src
		{"10.12.9.9", "10.1.0.2"},          // global scope skips nothing on eth1
		{"10.13.9.9", "192.0.2.1"},         // lo has no link-scoped global address: any device's
		{"2001:db8:77::1", "2001:db8::2"},  // same label, longest match, first listed
		{"fd00:77::1", "fd00::2"},          // the ULA label
		{"2001:db8:1:5::1", "2001:db8::2"}, // the outgoing NIC beats a longer match elsewhere
	} {
		p := mustTrace(t, s, netcfg.Packet{Dst: ip(c.dst)})
		if addrText(p.Src) != c.src {
			t.Errorf("%s: source %s, want %s (%s)", c.dst, addrText(p.Src), c.src, p.Reason)
		}
	}
}

func TestTraceMissingTable(t *testing.T) {
	s := traceState(t, homeServer, "rule pref 1000 lookup 13")
	p := mustTrace(t, s, netcfg.Packet{Dst: ip("8.8.8.8")})
	if !slices.Equal(p.Missing, []uint32{13}) || p.Complete() {
		t.Fatalf("missing %v, want [13]", p.Missing)
	}
	if !p.Steps[1].Partial {
		t.Errorf("the lookup in table 13 is not marked partial")
	}
	opts := lookup.TraceDetectOptions()
	if !opts.RuleTables || !slices.Contains(opts.Tables, netcfg.TableMain) || !slices.Contains(opts.Tables, netcfg.TableLocal) {
		t.Errorf("TraceDetectOptions %+v does not read the rules' tables, main and local", opts)
	}
}

func TestTraceBadPacket(t *testing.T) {
	s := traceState(t, homeServer)
	for _, c := range []struct {
		p     netcfg.Packet
		field string
	}{
		{netcfg.Packet{}, "destination"},
		{netcfg.Packet{Dst: ip("224.0.0.1")}, "destination"},
		{netcfg.Packet{Dst: ip("0.0.0.0")}, "destination"},
		{netcfg.Packet{Dst: ip("8.8.8.8"), Src: ip("2001:db8::1")}, "from"},
		{netcfg.Packet{Dst: ip("8.8.8.8"), IIF: "nope0"}, "iif"},
		{netcfg.Packet{Dst: ip("8.8.8.8"), OIF: "nope0"}, "oif"},
		{netcfg.Packet{Dst: ip("8.8.8.8"), IIF: "eno1", OIF: "eno1"}, "oif"},
	} {
		_, err := lookup.Trace(s, c.p)
		var pe *lookup.PacketError
		if !errors.As(err, &pe) || pe.Field != c.field {
			t.Errorf("%+v: error %v, want a PacketError on %s", c.p, err, c.field)
		}
	}
}

func TestTraceSelectors(t *testing.T) {
	s := traceState(t, homeServer, `
		rule pref 10 iif lo to 1.1.1.1 lookup 20
		rule pref 11 fwmark 0x10/0xf0 to 1.1.1.2 lookup 20
		rule pref 12 uidrange 1000-1999 to 1.1.1.3 lookup 20
		rule pref 13 ipproto 6 dport 443 to 1.1.1.4 lookup 20
		rule pref 14 tos 0x10 to 1.1.1.5 lookup 20
		rule pref 15 not from 192.168.10.0/24 lookup 21
		rule pref 14 oif eno1 to 1.1.1.7 lookup 20
		route default via 192.168.10.1 dev eno1 table 20
		route default via 192.168.10.1 dev eno1 table 21
		complete 20 21`)
	uid := uint32(1500)
	// Packets that match none of the rules of table 20 and come from the
	// VPN NIC reach main; others are caught by the `not` rule.
	vpn := ip("192.168.10.2")
	for _, c := range []struct {
		name    string
		p       netcfg.Packet
		matches bool
	}{
		{"sent by the host comes from lo", netcfg.Packet{Dst: ip("1.1.1.1")}, true},
		{"arriving packets do not", netcfg.Packet{Dst: ip("1.1.1.1"), Src: ip("192.168.20.9"), IIF: "enp2s0"}, false},
		{"mark under the mask", netcfg.Packet{Dst: ip("1.1.1.2"), Mark: 0x1f}, true},
		{"mark outside it", netcfg.Packet{Dst: ip("1.1.1.2"), Mark: 0x2f}, false},
		{"uid in range", netcfg.Packet{Dst: ip("1.1.1.3"), UID: &uid}, true},
		{"root is not", netcfg.Packet{Dst: ip("1.1.1.3")}, false},
		{"an arriving packet is root's", netcfg.Packet{Dst: ip("1.1.1.3"), UID: &uid, Src: ip("192.168.20.9"), IIF: "enp2s0"}, false},
		{"tcp to 443", netcfg.Packet{Dst: ip("1.1.1.4"), IPProto: netcfg.ProtoTCP, DPort: 443}, true},
		{"udp to 443", netcfg.Packet{Dst: ip("1.1.1.4"), IPProto: netcfg.ProtoUDP, DPort: 443}, false},
		{"legacy tos bits", netcfg.Packet{Dst: ip("1.1.1.5"), Tos: 0x30}, true},
		{"other tos", netcfg.Packet{Dst: ip("1.1.1.5"), Tos: 0x14}, false},
		{"not from the VPN subnet", netcfg.Packet{Dst: ip("1.1.1.6"), Src: ip("192.168.20.2")}, false},
		{"from the VPN subnet", netcfg.Packet{Dst: ip("1.1.1.6"), Src: ip("192.168.10.2")}, false},
		{"bound to eno1", netcfg.Packet{Dst: ip("1.1.1.7"), OIF: "eno1"}, true},
		{"not bound", netcfg.Packet{Dst: ip("1.1.1.7")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			pk := c.p
			if !pk.Src.IsValid() {
				pk.Src = vpn
			}
			p := mustTrace(t, s, pk)
			if got := p.Table == 20; got != c.matches {
				t.Errorf("table %d: matches %v, want %v\n%s", p.Table, got, c.matches, stepsText(&p))
			}
			wantTable := uint32(20)
			if !c.matches {
				wantTable = netcfg.TableMain
				if !netip.MustParsePrefix("192.168.10.0/24").Contains(pk.Src) {
					wantTable = 21
				}
			}
			if p.Table != wantTable {
				t.Errorf("table %d, want %d\n%s", p.Table, wantTable, stepsText(&p))
			}
		})
	}
}
