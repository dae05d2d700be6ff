package lookup_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// The world every random configuration of the differential test lives in:
// three veth NICs with IPv4 and IPv6 addresses (a secondary, a link-scoped
// and a deprecated one among them), a NIC that is down, and addresses on
// the loopback device.
var traceWorld = []string{
	"link add n0 type veth peer name p0",
	"link add n1 type veth peer name p1",
	"link add n2 type veth peer name p2",
	"link add n3 type veth peer name p3",
	"addr add 10.0.0.2/24 dev n0",
	"addr add 10.0.0.3/24 dev n0",
	"addr add 192.168.50.2/24 dev n0",
	"addr add 2001:db8:0::2/64 dev n0",
	"addr add fd00::2/64 dev n0",
	"addr add 10.1.0.2/24 dev n1",
	"addr add 172.16.1.2/16 dev n1",
	"addr add 2001:db8:1::2/64 dev n1",
	"addr add 2001:db8:1::3/64 dev n1 preferred_lft 0",
	"addr add 10.2.0.2/24 dev n2",
	"addr add 169.254.2.2/16 dev n2 scope link",
	"addr add 2001:db8:2::2/64 dev n2",
	"addr add fd00:2::2/64 dev n2",
	"addr add 192.0.2.1/32 dev lo",
	"addr add 2001:db8:ff::1/128 dev lo",
	"link set n1 group 5",
	"link set p0 up", "link set p1 up", "link set p2 up", "link set p3 up",
	"link set n0 up", "link set n1 up", "link set n2 up",
}

// Sysctls of the world: a router (forwarding on) without reverse-path
// filtering, which is what the simulator assumes for arriving packets, and
// no duplicate address detection, so no address is ever tentative.
var traceSysctls = []string{
	"net.ipv4.ip_forward=1",
	"net.ipv6.conf.all.forwarding=1",
	"net.ipv4.conf.all.rp_filter=0",
	"net.ipv4.conf.default.rp_filter=0",
	"net.ipv6.conf.all.accept_dad=0",
	"net.ipv6.conf.default.accept_dad=0",
}

type famPools struct {
	hot     []string // destinations worth routing
	locals  []string // this host's addresses
	remotes []string // sources of arriving packets
	gws     [][2]string
	prefixs []string // interesting rule prefixes
	tos     []uint8
	supp    []int
	protos  []string
	big     string // the default prefix
}

var pools = map[netcfg.Family]famPools{
	netcfg.V4: {
		hot: []string{"8.8.8.8", "10.0.0.2", "10.0.0.3", "10.0.0.99", "10.0.0.255", "10.1.0.2", "10.1.0.77", "172.16.5.5",
			"10.2.0.9", "169.254.9.9", "192.0.2.1", "127.0.0.1", "127.1.2.3", "198.51.100.7", "203.0.113.9", "9.9.9.9",
			"10.77.0.5", "10.77.0.255", "192.168.50.200", "100.64.1.1"},
		locals:  []string{"10.0.0.2", "10.0.0.3", "192.168.50.2", "10.1.0.2", "172.16.1.2", "10.2.0.2", "169.254.2.2", "192.0.2.1", "127.0.0.1"},
		remotes: []string{"10.0.0.50", "10.1.0.77", "10.2.0.9", "8.8.4.4", "198.51.100.7", "172.16.9.9", "10.0.0.255", "10.0.0.2", "127.0.0.1", "192.168.50.9"},
		gws:     [][2]string{{"10.0.0.1", "n0"}, {"192.168.50.1", "n0"}, {"10.1.0.1", "n1"}, {"172.16.0.1", "n1"}, {"10.2.0.1", "n2"}},
		prefixs: []string{"10.0.0.0/8", "10.0.0.0/24", "10.1.0.0/16", "0.0.0.0/1", "128.0.0.0/1", "8.0.0.0/8", "198.51.100.0/24", "10.0.0.2/32", "10.1.0.2/32", "192.0.2.1/32", "172.16.0.0/12"},
		tos:     []uint8{0x04, 0x08, 0x10, 0x18, 0x1c},
		supp:    []int{0, 8, 16, 24, 32},
		protos:  []string{"tcp", "udp", "icmp", "47"},
		big:     "0.0.0.0/0",
	},
	netcfg.V6: {
		hot: []string{"2001:db8:0::2", "2001:db8:0::77", "2001:db8:1::2", "2001:db8:1::3", "2001:db8:1::77", "2001:db8:ff::1",
			"2001:db8:5::1", "2001:db8:5:1::9", "fd00::99", "fd00:2::2", "2001:db8:2::", "::1", "2001:4860::8888", "2600::1",
			"3ffe::1", "fe80::1", "2001:db8:77::5", "fd00:9::9"},
		locals:  []string{"2001:db8:0::2", "fd00::2", "2001:db8:1::2", "2001:db8:1::3", "2001:db8:2::2", "fd00:2::2", "2001:db8:ff::1", "::1"},
		remotes: []string{"2001:db8:0::50", "2001:db8:1::77", "2001:db8:2::9", "2001:4860::8844", "fd00::77", "2600::9", "2001:db8:1::2"},
		gws:     [][2]string{{"2001:db8:0::1", "n0"}, {"fd00::1", "n0"}, {"2001:db8:1::1", "n1"}, {"2001:db8:2::1", "n2"}, {"fd00:2::1", "n2"}},
		prefixs: []string{"2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::/64", "::/1", "8000::/1", "fd00::/8", "2001:db8:0::2/128", "2001:db8:1::2/128", "2000::/3"},
		tos:     []uint8{0x10, 0x20, 0xb8},
		supp:    []int{0, 32, 48, 64, 128},
		protos:  []string{"tcp", "udp", "ipv6-icmp", "47"},
		big:     "::/0",
	},
}

var (
	traceTables = []uint32{netcfg.TableMain, netcfg.TableLocal, netcfg.TableDefault, 100, 101, 102, 103, 104, 999}
	traceDevs   = []string{"n0", "n1", "n2", "n3", "lo", "ghost0"}
	tracePorts  = []netcfg.PortRange{{Start: 53, End: 53}, {Start: 1000, End: 2000}, {Start: 80, End: 443}, {Start: 22, End: 22}}
	traceMarks  = []netcfg.FwMark{{Value: 0x1, Mask: 0xffffffff}, {Value: 0x13, Mask: 0xffffffff}, {Value: 0x100, Mask: 0xffffffff}, {Value: 0x13, Mask: 0xff}, {Value: 0x100, Mask: 0xf00}, {Value: 0, Mask: 1}}
	traceUIDs   = []netcfg.UIDRange{{Start: 0, End: 999}, {Start: 1000, End: 2000}, {Start: 500, End: 500}, {Start: 65534, End: 65534}}
)

// traceProto marks what the generator adds, so it can be removed again.
const traceProto = 99

// traceMove takes out the kernel's rule of one family and priority.
type traceMove struct {
	fam  netcfg.Family
	prio uint32
}

// traceConfig is one random set of rules and routes.
type traceConfig struct {
	rules  []netcfg.Rule
	routes []netcfg.Route
	// moves are the kernel's own rules to take out.
	moves []traceMove
	// dsts are the destinations of the routes, per family, for packets.
	dsts map[netcfg.Family][]netip.Prefix
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func chance(r *rand.Rand, pct int) bool { return r.IntN(100) < pct }

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func host(s string) netip.Prefix {
	a := addr(s)
	return netip.PrefixFrom(a, a.BitLen())
}

// randPrefix returns a prefix around one of the interesting addresses.
func randPrefix(r *rand.Rand, f netcfg.Family) netip.Prefix {
	p := pools[f]
	a := addr(pick(r, append(slices.Clone(p.hot), p.remotes...)))
	lens := []int{0, 8, 12, 16, 20, 24, 25, 28, 30, 32}
	if f == netcfg.V6 {
		lens = []int{0, 16, 32, 48, 56, 64, 96, 127, 128}
	}
	return netip.PrefixFrom(a, pick(r, lens)).Masked()
}

func genConfig(r *rand.Rand) traceConfig {
	c := traceConfig{dsts: map[netcfg.Family][]netip.Prefix{}}
	for _, f := range []netcfg.Family{netcfg.V4, netcfg.V6} {
		genRoutes(r, f, &c)
		genRules(r, f, &c)
	}
	return c
}

func genRoutes(r *rand.Rand, f netcfg.Family, c *traceConfig) {
	p := pools[f]
	for _, table := range []uint32{netcfg.TableMain, netcfg.TableDefault, 100, 101, 102, 103, 104} {
		n := r.IntN(8)
		if netcfg.ReservedTable(table) {
			n = r.IntN(3)
		}
		for range n {
			rt := netcfg.Route{Table: table, Type: netcfg.RouteUnicast, Dst: randPrefix(r, f), Proto: traceProto,
				Metric: pick(r, []uint32{0, 1, 5, 100, 1024})}
			c.dsts[f] = append(c.dsts[f], rt.Dst)
			switch k := r.IntN(100); {
			case k < 8:
				rt.Type = netcfg.RouteBlackhole
			case k < 16:
				rt.Type = netcfg.RouteUnreachable
			case k < 24:
				rt.Type = netcfg.RouteProhibit
			case k < 32:
				rt.Type = netcfg.RouteThrow
			case k < 36:
				rt.Type, rt.Dev, rt.Scope = netcfg.RouteLocal, pick(r, []string{"n0", "n1", "n2"}), netcfg.ScopeHost
			case k < 40 && f == netcfg.V4:
				rt.Type, rt.Dev, rt.Scope = netcfg.RouteBroadcast, pick(r, []string{"n0", "n1", "n2"}), netcfg.ScopeLink
			case k < 70:
				g := pick(r, p.gws)
				rt.Gw, rt.Dev = addr(g[0]), g[1]
			default:
				rt.Dev, rt.Scope = pick(r, []string{"n0", "n1", "n2", "n2", "lo"}), netcfg.ScopeLink
			}
			if rt.Dev != "" && rt.Type != netcfg.RouteLocal && chance(r, 12) {
				rt.Src = addr(pick(r, p.locals[:len(p.locals)-1]))
			}
			if f == netcfg.V4 && chance(r, 10) {
				rt.Tos = pick(r, p.tos)
			}
			if f == netcfg.V6 {
				rt.Scope = netcfg.ScopeUniverse
			}
			c.routes = append(c.routes, rt)
		}
	}
}

func genRules(r *rand.Rand, f netcfg.Family, c *traceConfig) {
	p := pools[f]
	var prefs []uint32
	for range 1 + r.IntN(10) {
		if len(prefs) > 0 && chance(r, 15) {
			prefs = append(prefs, pick(r, prefs))
		} else {
			prefs = append(prefs, uint32(pick(r, []int{1 + r.IntN(32765), 1 + r.IntN(200), 40000 + r.IntN(100)})))
		}
	}
	slices.Sort(prefs)
	for i, pref := range prefs {
		rl := netcfg.NewRule()
		rl.Family, rl.Priority, rl.Proto = f, pref, traceProto
		rl.Not = chance(r, 10)
		if chance(r, 30) {
			if chance(r, 50) {
				rl.From = host(pick(r, p.locals))
			} else {
				rl.From = netip.MustParsePrefix(pick(r, p.prefixs))
			}
		}
		if chance(r, 35) {
			if chance(r, 50) {
				rl.To = randPrefix(r, f)
			} else {
				rl.To = netip.MustParsePrefix(pick(r, p.prefixs))
			}
		}
		if chance(r, 15) {
			rl.IIF = pick(r, traceDevs)
		}
		if chance(r, 12) {
			rl.OIF = pick(r, traceDevs)
		}
		if chance(r, 15) {
			m := pick(r, traceMarks)
			rl.Mark = &m
		}
		if chance(r, 10) {
			u := pick(r, traceUIDs)
			rl.UIDRange = &u
		}
		if chance(r, 10) {
			rl.IPProto, _ = netcfg.ParseIPProto(pick(r, p.protos))
		}
		if chance(r, 7) {
			sp := pick(r, tracePorts)
			rl.SPort = &sp
		}
		if chance(r, 10) {
			dp := pick(r, tracePorts)
			rl.DPort = &dp
		}
		if chance(r, 12) {
			rl.Tos = pick(r, p.tos)
		}
		// The selectors iproute2 6.1 cannot write, through nictab's
		// codec: dscp (with a mask sometimes; never beside tos, which the
		// kernel refuses) and port masks.
		if rl.Tos == 0 && chance(r, 10) {
			d := netcfg.DSCPMatch{Value: pick(r, []uint8{46, 8, 10, 0, 34}), Mask: 0x3f}
			if chance(r, 40) {
				d.Mask = pick(r, []uint8{0x38, 0x3c, 0x07})
				d.Value &= d.Mask
			}
			rl.DSCP = &d
		}
		for _, pp := range []**netcfg.PortRange{&rl.SPort, &rl.DPort} {
			if chance(r, 5) {
				m := pick(r, []uint16{0xff00, 0xfff0, 0xffff, 0x0003})
				*pp = &netcfg.PortRange{Start: pick(r, []uint16{22, 53, 1024, 4096, 443}) & m, Mask: m}
				(*pp).End = (*pp).Start
			}
		}
		switch k := r.IntN(100); {
		case k < 12:
			rl.Action, rl.Goto = netcfg.ActionGoto, pref+1+uint32(r.IntN(500))
			if later := prefs[i+1:]; len(later) > 0 && chance(r, 70) && pick(r, later) > pref {
				rl.Goto = pick(r, later)
			}
			if rl.Goto <= pref {
				rl.Goto = pref + 1
			}
		case k < 17:
			rl.Action = netcfg.ActionBlackhole
		case k < 22:
			rl.Action = netcfg.ActionUnreachable
		case k < 27:
			rl.Action = netcfg.ActionProhibit
		case k < 32:
			rl.Action = netcfg.ActionNop
		default:
			rl.Table = pick(r, traceTables)
			if chance(r, 15) {
				rl.SuppressPrefixLen = pick(r, p.supp)
			}
			if chance(r, 6) {
				rl.SuppressIfgroup = pick(r, []int{0, 5})
			}
		}
		c.rules = append(c.rules, rl)
	}
	// Sometimes the kernel's own rules move: main elsewhere, local after
	// other rules.
	if chance(r, 8) {
		rl := netcfg.NewRule()
		rl.Family, rl.Priority, rl.Table, rl.Proto = f, uint32(1+r.IntN(40000)), netcfg.TableMain, traceProto
		c.rules = append(c.rules, rl)
		c.moves = append(c.moves, traceMove{f, 32766})
	}
	if chance(r, 5) {
		rl := netcfg.NewRule()
		rl.Family, rl.Priority, rl.Table, rl.Proto = f, 50, netcfg.TableLocal, traceProto
		c.rules = append(c.rules, rl)
		c.moves = append(c.moves, traceMove{f, 0})
	}
}

// tracePacket is a packet as `ip route get` arguments and as the
// simulator's Packet.
type tracePacket struct {
	pkt  netcfg.Packet
	args string
}

func unroutable(a netip.Addr) bool {
	return !a.IsValid() || a.IsMulticast() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// genPacket makes a random packet of family f; half of them are aimed at
// one of the configuration's rules, so that rules decide often.
func genPacket(r *rand.Rand, f netcfg.Family, c *traceConfig) tracePacket {
	p := pools[f]
	var pk netcfg.Packet
	switch k := r.IntN(100); {
	case k < 45 || len(c.dsts[f]) == 0:
		pk.Dst = addr(pick(r, p.hot))
	case k < 85:
		for unroutable(pk.Dst) {
			pk.Dst = randIn(r, pick(r, c.dsts[f]))
		}
	default:
		pk.Dst = addr(pick(r, p.locals))
	}
	if chance(r, 35) {
		pk.IIF = pick(r, []string{"n0", "n1", "n2", "n2", "n1", "n3"})
		if chance(r, 90) {
			pk.Src = addr(pick(r, p.remotes))
		}
		if f == netcfg.V4 && chance(r, 5) {
			pk.Src = addr(pick(r, p.hot))
		}
	} else {
		switch k := r.IntN(100); {
		case k < 45:
			pk.Src = addr(pick(r, p.locals))
		case k < 55:
			pk.Src = addr(pick(r, p.remotes))
		}
		if chance(r, 20) {
			pk.OIF = pick(r, []string{"n0", "n1", "n2", "n3", "lo"})
		}
	}
	if chance(r, 30) {
		pk.Mark = pick(r, []uint32{0x1, 0x13, 0x113, 0x100, 0, 0xf13})
	}
	var uid *uint32
	if chance(r, 30) {
		u := pick(r, []uint32{0, 1000, 1500, 500, 65534, 2001})
		uid = &u
	}
	protos := []uint8{netcfg.ProtoTCP, netcfg.ProtoUDP, netcfg.ProtoICMP}
	if f == netcfg.V6 {
		protos[2] = netcfg.ProtoICMPv6
	}
	if chance(r, 40) {
		pk.IPProto = pick(r, protos)
	}
	ports := []uint16{53, 80, 443, 1500, 22, 5000}
	if chance(r, 35) {
		pk.SPort = pick(r, ports)
	}
	if chance(r, 40) {
		pk.DPort = pick(r, ports)
	}
	if chance(r, 30) {
		tos := []uint8{0x10, 0x12, 0x30, 0x14, 0x1c, 0xb8, 0x04}
		if f == netcfg.V6 {
			tos = []uint8{0x10, 0x20, 0xb8, 0x12}
		}
		pk.Tos = pick(r, tos)
	}
	var rules []netcfg.Rule
	for _, rl := range c.rules {
		if rl.Family == f {
			rules = append(rules, rl)
		}
	}
	if len(rules) > 0 && chance(r, 50) {
		aim(r, &pk, &uid, pick(r, rules), protos)
	}
	pk.UID = uid
	return packetArgs(pk)
}

// aim changes a packet so that most of a rule's selectors match it.
func aim(r *rand.Rand, pk *netcfg.Packet, uid **uint32, rl netcfg.Rule, protos []uint8) {
	p := pools[rl.Family]
	if rl.To.IsValid() && rl.To.Bits() > 0 && chance(r, 80) {
		for range 5 {
			if d := randIn(r, rl.To); !unroutable(d) {
				pk.Dst = d
				break
			}
		}
	}
	if rl.IIF != "" && rl.IIF != "ghost0" && chance(r, 70) {
		pk.IIF, pk.OIF = rl.IIF, ""
		if rl.IIF == "lo" {
			pk.IIF = ""
		}
	}
	if rl.OIF != "" && rl.OIF != "ghost0" && pk.IIF == "" && chance(r, 70) {
		pk.OIF = rl.OIF
	}
	if rl.From.IsValid() && rl.From.Bits() > 0 && chance(r, 80) {
		var inside []string
		for _, a := range append(slices.Clone(p.locals), p.remotes...) {
			if rl.From.Contains(addr(a)) {
				inside = append(inside, a)
			}
		}
		switch {
		case len(inside) > 0:
			pk.Src = addr(pick(r, inside))
		case pk.IIF != "":
			pk.Src = randIn(r, rl.From)
		}
	}
	if pk.IIF != "" && !pk.Src.IsValid() {
		pk.Src = addr(pick(r, p.remotes))
	}
	if rl.Mark != nil && chance(r, 80) {
		pk.Mark = rl.Mark.Value | pick(r, []uint32{0, 0x1000, ^rl.Mark.Mask & 0x3})
	}
	if rl.UIDRange != nil && chance(r, 80) {
		u := pick(r, []uint32{rl.UIDRange.Start, rl.UIDRange.End})
		*uid = &u
	}
	if rl.IPProto != 0 && slices.Contains(protos, rl.IPProto) && chance(r, 80) {
		pk.IPProto = rl.IPProto
	}
	if rl.SPort != nil && chance(r, 80) {
		pk.SPort = pick(r, []uint16{rl.SPort.Start, rl.SPort.End, rl.SPort.Start | ^rl.SPort.Mask&0x5})
	}
	if rl.DPort != nil && chance(r, 80) {
		pk.DPort = pick(r, []uint16{rl.DPort.Start, rl.DPort.End, rl.DPort.Start | ^rl.DPort.Mask&0x5})
	}
	if rl.DSCP != nil && chance(r, 80) {
		pk.Tos = (rl.DSCP.Value|pick(r, []uint8{0, ^rl.DSCP.Mask & 0x3f, 0x01}))<<2 | pick(r, []uint8{0, 0x01, 0x02})
	}
	if rl.Tos != 0 && chance(r, 80) {
		pk.Tos = rl.Tos | pick(r, []uint8{0, 0x20, 0x02, 0x01})
	}
}

// packetArgs writes a packet as `ip route get` arguments. A packet without
// a protocol is sent without ipproto and becomes what the kernel makes of
// that.
func packetArgs(pk netcfg.Packet) tracePacket {
	args := []string{pk.Dst.String()}
	if pk.Src.IsValid() {
		args = append(args, "from", pk.Src.String())
	}
	if pk.IIF != "" {
		args = append(args, "iif", pk.IIF)
	}
	if pk.OIF != "" {
		args = append(args, "oif", pk.OIF)
	}
	if pk.Mark != 0 {
		args = append(args, "mark", fmt.Sprintf("0x%x", pk.Mark))
	}
	if pk.UID != nil {
		args = append(args, "uid", fmt.Sprint(*pk.UID))
	}
	switch {
	case pk.IPProto != 0:
		name := map[uint8]string{netcfg.ProtoTCP: "tcp", netcfg.ProtoUDP: "udp", netcfg.ProtoICMP: "icmp", netcfg.ProtoICMPv6: "ipv6-icmp"}[pk.IPProto]
		args = append(args, "ipproto", name)
	case pk.Dst.Is4():
		// NOTE: `ip route get` without ipproto routes an IPv4 packet as
		// UDP (the kernel's default for RTM_GETROUTE), an IPv6 one as
		// protocol 0.
		pk.IPProto = netcfg.ProtoUDP
	}
	if pk.SPort != 0 {
		args = append(args, "sport", fmt.Sprint(pk.SPort))
	}
	if pk.DPort != 0 {
		args = append(args, "dport", fmt.Sprint(pk.DPort))
	}
	if pk.Tos != 0 {
		args = append(args, "tos", fmt.Sprintf("0x%02x", pk.Tos))
	}
	return tracePacket{pkt: pk, args: strings.Join(args, " ")}
}

// randIn returns a random address inside p.
func randIn(r *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		if r.IntN(2) == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
