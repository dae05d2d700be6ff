package lookup

import (
	"math/bits"
	"net/netip"
	"slices"

	"github.com/nictab/nictab/netcfg"
)

// secondary reports whether address i of a link is an IPv4 secondary
// address: one in the same subnet, with the same prefix length, as an
// address listed before it. The kernel lists primaries first and never
// takes a secondary as a source.
func secondary(l *netcfg.Link, i int) bool {
	a := l.Addrs[i]
	if slices.Contains(a.Flags, "secondary") {
		return true
	}
	if !a.Prefix.Addr().Is4() {
		return false
	}
	for _, b := range l.Addrs[:i] {
		if b.Prefix.Addr().Is4() && b.Prefix.Bits() == a.Prefix.Bits() && b.Prefix.Masked() == a.Prefix.Masked() {
			return true
		}
	}
	return false
}

// selectAddr4 is the kernel's inet_select_addr: the source for a packet
// leaving through dev, for a route of the given scope. It takes dev's
// first primary address whose scope is within the route's, preferring one
// on the same subnet as near (the gateway); failing that, the first
// address of any device (the loopback device first) that is neither
// link-scoped nor wider than the route allows.
func (t *tracer) selectAddr4(dev string, near netip.Addr, scope netcfg.Scope) netip.Addr {
	var first netip.Addr
	if l, ok := t.s.Link(dev); ok {
		for i, a := range l.Addrs {
			if !a.Prefix.Addr().Is4() || secondary(l, i) {
				continue
			}
			if min(a.Scope, netcfg.ScopeHost) > scope {
				continue
			}
			if !near.IsValid() || near.IsUnspecified() || a.Prefix.Masked().Contains(near) {
				return a.Prefix.Addr()
			}
			if !first.IsValid() {
				first = a.Prefix.Addr()
			}
		}
	}
	if first.IsValid() {
		return first
	}
	for _, l := range t.linksInOrder() {
		for i, a := range l.Addrs {
			if !a.Prefix.Addr().Is4() || secondary(l, i) {
				continue
			}
			if a.Scope != netcfg.ScopeLink && a.Scope <= scope {
				return a.Prefix.Addr()
			}
		}
	}
	return netip.Addr{}
}

// linksInOrder returns the links in the order the kernel lists devices:
// the loopback device first, then by index.
func (t *tracer) linksInOrder() []*netcfg.Link {
	out := make([]*netcfg.Link, 0, len(t.s.Links))
	for i := range t.s.Links {
		out = append(out, &t.s.Links[i])
	}
	slices.SortStableFunc(out, func(a, b *netcfg.Link) int {
		if a.Loopback != b.Loopback {
			if a.Loopback {
				return -1
			}
			return 1
		}
		return a.Index - b.Index
	})
	return out
}

// isLocal4 reports whether a is one of this host's IPv4 addresses, or a
// route of the local table makes it one (127.0.0.0/8), as __ip_dev_find
// decides.
func (t *tracer) isLocal4(a netip.Addr) bool {
	for _, l := range t.s.Links {
		for _, x := range l.Addrs {
			if x.Prefix.Addr() == a {
				return true
			}
		}
	}
	res := t.lookup(netcfg.TableLocal, &flow{dst: a})
	return res.route != nil && res.route.Type == netcfg.RouteLocal
}

// IPv6 address scopes as the kernel ranks them for source selection.
const (
	scope6Link   = 0x2
	scope6Site   = 0x5
	scope6Global = 0xe
)

func scope6(a netip.Addr) int {
	switch {
	case a.IsMulticast():
		return int(a.As16()[1] & 0x0f)
	case a.IsLoopback(), a.IsLinkLocalUnicast():
		return scope6Link
	case a.As16()[0] == 0xfe && a.As16()[1]&0xc0 == 0xc0:
		return scope6Site
	}
	return scope6Global
}

// label6 is the default policy table of RFC 6724 as the kernel has it
// (`ip addrlabel`).
func label6(a netip.Addr) int {
	for _, l := range addrLabels {
		if l.p.Contains(a) {
			return l.label
		}
	}
	return 1
}

var addrLabels = []struct {
	p     netip.Prefix
	label int
}{
	// Longest prefixes first, so the first that holds an address wins.
	{netip.MustParsePrefix("::1/128"), 0},
	{netip.MustParsePrefix("::ffff:0:0/96"), 4},
	{netip.MustParsePrefix("::/96"), 3},
	{netip.MustParsePrefix("2001::/32"), 6},
	{netip.MustParsePrefix("2001:10::/28"), 7},
	{netip.MustParsePrefix("2002::/16"), 2},
	{netip.MustParsePrefix("3ffe::/16"), 12},
	{netip.MustParsePrefix("fec0::/10"), 11},
	{netip.MustParsePrefix("fc00::/7"), 5},
	{netip.MustParsePrefix("::/0"), 1},
}

var orchid = netip.MustParsePrefix("2001:10::/28")

// selectAddr6 is the kernel's ipv6_dev_get_saddr: RFC 6724 source address
// selection among the addresses of every device (of dev alone for a
// link-local destination), for a packet leaving through dev. Candidates are
// compared rule by rule — same address, scope, not deprecated, on the
// outgoing device, same label, longest matching prefix — and the first
// listed wins a tie.
func (t *tracer) selectAddr6(dev string, dst netip.Addr) netip.Addr {
	type cand struct {
		a     netcfg.Addr
		onDev bool
	}
	var cands []cand
	dstScope := scope6(dst)
	for _, l := range t.linksInOrder() {
		if dstScope <= scope6Link && l.Name != dev {
			continue
		}
		for _, a := range l.Addrs {
			x := a.Prefix.Addr()
			if !x.Is6() || x.IsUnspecified() || x.IsMulticast() {
				continue
			}
			if slices.Contains(a.Flags, "tentative") || slices.Contains(a.Flags, "dadfailed") {
				continue
			}
			cands = append(cands, cand{a: a, onDev: l.Name == dev})
		}
	}
	score := func(c cand) [6]int {
		x := c.a.Prefix.Addr()
		var s [6]int
		if x == dst {
			s[0] = 1
		}
		sc := scope6(x)
		if sc >= dstScope {
			s[1] = -sc
		} else {
			s[1] = sc - 128
		}
		if x.IsLoopback() || !slices.Contains(c.a.Flags, "deprecated") {
			s[2] = 1
		}
		if c.onDev {
			s[3] = 1
		}
		if label6(x) == label6(dst) {
			s[4] = 1
		}
		if orchid.Contains(x) == orchid.Contains(dst) {
			s[5] = 1
		}
		return s
	}
	var best *cand
	var bestScore [6]int
	bestLen := 0
	for i := range cands {
		c := &cands[i]
		s := score(*c)
		l := min(commonPrefixLen(c.a.Prefix.Addr(), dst), c.a.Prefix.Bits())
		if best == nil || better(s, l, bestScore, bestLen) {
			best, bestScore, bestLen = c, s, l
		}
	}
	if best == nil {
		return netip.Addr{}
	}
	return best.a.Prefix.Addr()
}

func better(s [6]int, l int, bs [6]int, bl int) bool {
	for i := range s {
		if s[i] != bs[i] {
			return s[i] > bs[i]
		}
	}
	return l > bl
}

func commonPrefixLen(a, b netip.Addr) int {
	x, y := a.As16(), b.As16()
	n := 0
	for i := range x {
		d := x[i] ^ y[i]
		if d != 0 {
			return n + bits.LeadingZeros8(d)
		}
		n += 8
	}
	return n
}
