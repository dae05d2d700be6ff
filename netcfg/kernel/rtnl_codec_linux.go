//go:build linux

package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

const (
	rtmsgLen  = unix.SizeofRtMsg // family, dst_len, src_len, tos, table, protocol, scope, type, flags
	fibHdrLen = 12               // struct fib_rule_hdr
	rtnhLen   = unix.SizeofRtNexthop

	// Attributes newer than x/sys knows by name.
	fraL3MDev    = 19
	fraUIDRange  = 20
	fraProtocol  = 21
	fraIPProto   = 22
	fraSPort     = 23
	fraDPort     = 24
	fraDSCP      = 25
	fraFlowLabel = 26
	fraFlowMask  = 27
	fraSPortMask = 28
	fraDPortMask = 29
	fraDSCPMask  = 30
	fraPad       = 18
	fibRuleInv   = 0x2
	// fibRuleUnresolved marks a goto rule whose target is missing.
	fibRuleUnresolved = 0x4
	rtnhFOnlink       = 0x4
	rtnhFDead         = 0x1
	rtnhFLinkDn       = 0x10
	rtaNHID           = 30
	rtaPad            = 24
	rtaVia            = 18
	familyAddrV4      = 4
)

func afOf(f netcfg.Family) uint8 {
	if f == netcfg.V6 {
		return unix.AF_INET6
	}
	return unix.AF_INET
}

func addrBytes(a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

func addrFrom(b []byte) (netip.Addr, bool) {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b)), true
	case 16:
		return netip.AddrFrom16([16]byte(b)), true
	}
	return netip.Addr{}, false
}

func zeroAddr(f uint8) netip.Addr {
	if f == unix.AF_INET6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// linkIndexer maps interface names to indices and back for one namespace.
type linkIndexer struct {
	byName  map[string]int
	byIndex map[int]string
}

func (l *linkIndexer) index(name string) (int, error) {
	if i, ok := l.byName[name]; ok {
		return i, nil
	}
	return 0, fmt.Errorf("no device named %q", name)
}

// encodeRoute appends a route request to wbuf; it takes the next sequence
// number.
func (c *rtnl) encodeRoute(typ, flags uint16, r *netcfg.Route, links *linkIndexer) error {
	off, _ := c.begin(typ, flags)
	var h [rtmsgLen]byte
	h[0] = afOf(r.Family())
	h[1] = uint8(r.Dst.Bits())
	if r.From.IsValid() {
		h[2] = uint8(r.From.Bits())
	}
	h[3] = r.Tos
	if r.Table < 256 {
		h[4] = uint8(r.Table)
	}
	h[5] = r.Proto
	h[6] = uint8(r.Scope)
	h[7] = uint8(r.Type)
	if h[7] == 0 {
		h[7] = uint8(netcfg.RouteUnicast)
	}
	if r.Onlink {
		binary.NativeEndian.PutUint32(h[8:], rtnhFOnlink)
	}
	c.wbuf = append(c.wbuf, h[:]...)
	c.attrU32(unix.RTA_TABLE, r.Table)
	if r.Dst.Bits() > 0 {
		c.attrAddr(unix.RTA_DST, r.Dst.Addr())
	}
	if r.From.IsValid() && r.From.Bits() > 0 {
		c.attrAddr(unix.RTA_SRC, r.From.Addr())
	}
	// A route through a nexthop object names only the object: the kernel
	// refuses a gateway or device beside it.
	if r.NHID != 0 {
		c.attrU32(rtaNHID, r.NHID)
	}
	if r.Gw.IsValid() && r.NHID == 0 {
		if netcfg.FamilyOf(r.Gw) == r.Family() {
			c.attrAddr(unix.RTA_GATEWAY, r.Gw)
		} else {
			// An IPv4 route through an IPv6 next hop (RFC 5549).
			v := append([]byte{0, 0}, addrBytes(r.Gw)...)
			binary.NativeEndian.PutUint16(v, uint16(afOf(netcfg.FamilyOf(r.Gw))))
			c.attr(rtaVia, v)
		}
	}
	if r.Dev != "" && r.NHID == 0 {
		i, err := links.index(r.Dev)
		if err != nil {
			c.wbuf = c.wbuf[:off]
			return err
		}
		c.attrU32(unix.RTA_OIF, uint32(i))
	}
	if r.Src.IsValid() {
		c.attrAddr(unix.RTA_PREFSRC, r.Src)
	}
	if r.Metric != 0 {
		c.attrU32(unix.RTA_PRIORITY, r.Metric)
	}
	if !r.Metrics.IsZero() {
		c.attr(unix.RTA_METRICS, encodeMetrics(r.Metrics))
	}
	if r.Family() == netcfg.V6 && r.Pref != netcfg.PrefMedium {
		c.attrU8(unix.RTA_PREF, uint8(r.Pref))
	}
	if r.Realms != 0 {
		c.attrU32(unix.RTA_FLOW, r.Realms)
	}
	if len(r.MultiPath) > 0 && r.NHID == 0 {
		var mp []byte
		for _, nh := range r.MultiPath {
			var rh [rtnhLen]byte
			start := len(mp)
			if nh.Onlink {
				rh[2] = rtnhFOnlink
			}
			rh[3] = uint8(max(nh.Weight, 1) - 1)
			if nh.Dev != "" {
				i, err := links.index(nh.Dev)
				if err != nil {
					c.wbuf = c.wbuf[:off]
					return err
				}
				binary.NativeEndian.PutUint32(rh[4:], uint32(i))
			}
			mp = append(mp, rh[:]...)
			if nh.Gw.IsValid() {
				gw := addrBytes(nh.Gw)
				var ah [4]byte
				binary.NativeEndian.PutUint16(ah[0:], uint16(4+len(gw)))
				binary.NativeEndian.PutUint16(ah[2:], unix.RTA_GATEWAY)
				mp = append(mp, ah[:]...)
				mp = append(mp, gw...)
			}
			if nh.Realms != 0 {
				var ah [8]byte
				binary.NativeEndian.PutUint16(ah[0:], 8)
				binary.NativeEndian.PutUint16(ah[2:], unix.RTA_FLOW)
				binary.NativeEndian.PutUint32(ah[4:], nh.Realms)
				mp = append(mp, ah[:]...)
			}
			binary.NativeEndian.PutUint16(mp[start:], uint16(len(mp)-start))
		}
		c.attr(unix.RTA_MULTIPATH, mp)
	}
	c.end(off)
	return nil
}

// decodeRoute fills r from an RTM_NEWROUTE message. It reports false for
// messages that are not routes of a table (cached clones).
func decodeRoute(data []byte, links *linkIndexer, r *netcfg.Route) bool {
	if len(data) < rtmsgLen {
		return false
	}
	flags := binary.NativeEndian.Uint32(data[8:])
	if flags&unix.RTM_F_CLONED != 0 {
		return false
	}
	fam := data[0]
	if fam != unix.AF_INET && fam != unix.AF_INET6 {
		return false
	}
	*r = netcfg.Route{
		Table:    uint32(data[4]),
		Proto:    data[5],
		Scope:    netcfg.Scope(data[6]),
		Type:     netcfg.RouteType(data[7]),
		Tos:      data[3],
		Onlink:   flags&rtnhFOnlink != 0,
		Dead:     flags&rtnhFDead != 0,
		LinkDown: flags&rtnhFLinkDn != 0,
	}
	dstLen, srcLen := int(data[1]), int(data[2])
	r.Dst = netip.PrefixFrom(zeroAddr(fam), dstLen)
	var encapType uint16
	var encap []byte
	hasEncap := false
	forAttrs(data[rtmsgLen:], func(typ uint16, v []byte) {
		switch typ {
		case unix.RTA_SRC:
			if a, ok := addrFrom(v); ok {
				r.From = netip.PrefixFrom(a, srcLen).Masked()
			}
		case rtaNHID:
			if len(v) == 4 {
				r.NHID = binary.NativeEndian.Uint32(v)
			}
		case unix.RTA_METRICS:
			var m netcfg.Metrics
			m, r.Unmodelled = decodeMetrics(v, r.Unmodelled)
			r.Metrics = m.Ptr()
		case unix.RTA_PREF:
			if len(v) == 1 {
				r.Pref = netcfg.RoutePref(v[0])
			}
		case unix.RTA_FLOW:
			if len(v) == 4 {
				r.Realms = binary.NativeEndian.Uint32(v)
			}
		case unix.RTA_CACHEINFO:
			// rta_expires is in USER_HZ (100 per second) ticks.
			if len(v) >= 12 {
				if t := binary.NativeEndian.Uint32(v[8:]); int32(t) > 0 {
					r.Expires = max(t/100, 1)
				}
			}
		case unix.RTA_ENCAP_TYPE:
			if len(v) == 2 {
				encapType, hasEncap = binary.NativeEndian.Uint16(v), true
			}
		case unix.RTA_ENCAP:
			encap, hasEncap = v, true
		case unix.RTA_EXPIRES:
			if len(v) == 4 {
				r.Expires = binary.NativeEndian.Uint32(v)
			}
		case rtaPad:
		case unix.RTA_TABLE:
			if len(v) == 4 {
				r.Table = binary.NativeEndian.Uint32(v)
			}
		case unix.RTA_DST:
			if a, ok := addrFrom(v); ok {
				r.Dst = netip.PrefixFrom(a, dstLen).Masked()
			}
		case unix.RTA_GATEWAY:
			r.Gw, _ = addrFrom(v)
		case rtaVia:
			if len(v) > 2 {
				r.Gw, _ = addrFrom(v[2:])
			}
		case unix.RTA_OIF:
			if len(v) == 4 {
				r.Dev = links.byIndex[int(binary.NativeEndian.Uint32(v))]
			}
		case unix.RTA_PREFSRC:
			r.Src, _ = addrFrom(v)
		case unix.RTA_PRIORITY:
			if len(v) == 4 {
				r.Metric = binary.NativeEndian.Uint32(v)
			}
		case unix.RTA_MULTIPATH:
			r.MultiPath = decodeMultipath(v, links)
		default:
			r.Unmodelled = append(r.Unmodelled, rawAttr("RTA", routeAttrNames, typ, v))
		}
	})
	if hasEncap {
		r.Encap = &netcfg.Encap{Type: encapType, Data: slices.Clone(encap)}
	}
	return true
}

// decodeMultipath reads RTA_MULTIPATH: struct rtnexthop records, each
// followed by its attributes and padded to 4 bytes, except that the last
// may end unpadded.
func decodeMultipath(b []byte, links *linkIndexer) []netcfg.NextHop {
	var out []netcfg.NextHop
	for len(b) >= rtnhLen {
		l := int(binary.NativeEndian.Uint16(b))
		if l < rtnhLen || l > len(b) {
			break
		}
		nh := netcfg.NextHop{
			Onlink:   b[2]&rtnhFOnlink != 0,
			Dead:     b[2]&rtnhFDead != 0,
			LinkDown: b[2]&rtnhFLinkDn != 0,
			Weight:   int(b[3]) + 1,
			Dev:      links.byIndex[int(binary.NativeEndian.Uint32(b[4:]))],
		}
		var encapType uint16
		var encap []byte
		hasEncap := false
		forAttrs(b[rtnhLen:l], func(typ uint16, v []byte) {
			switch typ {
			case unix.RTA_GATEWAY:
				nh.Gw, _ = addrFrom(v)
			case rtaVia:
				if len(v) > 2 {
					nh.Gw, _ = addrFrom(v[2:])
				}
			case unix.RTA_FLOW:
				if len(v) == 4 {
					nh.Realms = binary.NativeEndian.Uint32(v)
				}
			case unix.RTA_ENCAP_TYPE:
				if len(v) == 2 {
					encapType, hasEncap = binary.NativeEndian.Uint16(v), true
				}
			case unix.RTA_ENCAP:
				encap, hasEncap = v, true
			default:
				nh.Unmodelled = append(nh.Unmodelled, rawAttr("RTA", routeAttrNames, typ, v))
			}
		})
		if hasEncap {
			nh.Encap = &netcfg.Encap{Type: encapType, Data: slices.Clone(encap)}
		}
		out = append(out, nh)
		b = b[min((l+3)&^3, len(b)):]
	}
	return out
}

// routes streams the routes matching q. r is reused between calls.
func (c *rtnl) routes(q netcfg.RouteQuery, links *linkIndexer, fn func(r *netcfg.Route) error) error {
	fams := []netcfg.Family{netcfg.V4, netcfg.V6}
	if q.Family != 0 {
		fams = []netcfg.Family{q.Family}
	}
	for _, f := range fams {
		if err := c.routesFamily(f, q, links, fn); err != nil {
			return err
		}
	}
	return nil
}

// oneShotBuf is the read buffer of a socket opened for a dump that is
// left early. The kernel fills the next datagram of a dump while the
// reader takes the one before, as large as the largest read the socket
// has seen: with 8 KB, about 70 routes, not 32 KB (~280, 0.3 ms of kernel
// time for IPv6 routes) are filled that are never read.
const oneShotBuf = 8 << 10

// closeOneShot closes p, a socket from c.openOneShot.
func (p *rtnl) closeOneShot(c *rtnl) {
	c.oneShotLooked += p.oneShotLooked
	c.oneShotTaken += p.oneShotTaken
	// Closing a socket only read can fail only as a bad descriptor
	// would: nothing of the dump depends on it.
	_ = unix.Close(p.fd)
}

// openOneShot opens a socket in c's namespace for one dump that may be
// left early.
//
// NOTE: taking a datagram off a dump's socket makes the kernel fill the
// next one, up to the size of the largest read (0.3 ms for 8 KB of a
// full table's routes). A one-shot dump looks at each datagram first
// (MSG_PEEK) and takes it only when it reads on past it, so the kernel
// fills nothing past the datagram where the dump is left. Looking does
// not fill as long as what waits on the socket is more than half its
// receive buffer: hence the smallest buffer the kernel grants, which
// holds one datagram of a dump, all that is ever queued on it.
func (c *rtnl) openOneShot() (*rtnl, error) {
	p := &rtnl{ns: c.ns, rbuf: make([]byte, oneShotBuf), oneShot: true}
	if err := p.open(); err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(p.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 0); err != nil {
		unix.Close(p.fd)
		return nil, fmt.Errorf("netlink receive buffer size: %w", err)
	}
	return p, nil
}

func (c *rtnl) routesFamily(f netcfg.Family, q netcfg.RouteQuery, links *linkIndexer, fn func(r *netcfg.Route) error) error {
	if q.DefaultsOnly && f == netcfg.V6 && q.Table == netcfg.TableMain && q.Proto == 0 {
		return c.v6Defaults(links, fn)
	}
	orig := c
	if q.DefaultsOnly && f == netcfg.V4 && !c.oneShot {
		// NOTE: the kernel fills the first datagram of a dump while the
		// request is sent, as large as the largest read the socket has
		// seen (32 KB, ~500 routes, once it has dumped anything). A
		// socket that has never read fills only a page, so abandoning a
		// full Internet table after its default routes costs a few dozen
		// routes. It is closed after, as an abandoned dump's socket must.
		p, err := c.openOneShot()
		if err != nil {
			return err
		}
		defer p.closeOneShot(c)
		c = p
	}
	// Main's IPv4 defaults read also tells whether main holds a full
	// table (see MainIsBig): the dump goes on past them, counted but
	// not decoded, for up to mainProbe4 routes.
	probe := q.DefaultsOnly && f == netcfg.V4 && q.Table == netcfg.TableMain && q.Proto == 0
	seen, past, big := 0, false, false
	var r netcfg.Route
	var ferr error
	run := c.dumpOnce
	if !q.DefaultsOnly {
		// Read to the end whatever fn says: streamed (see dumpStream).
		run = c.dumpStreamOnce
	}
	err := run(func() uint32 {
		off, seq := c.begin(unix.RTM_GETROUTE, unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
		var h [rtmsgLen]byte
		h[0] = afOf(f)
		h[5] = q.Proto
		c.wbuf = append(c.wbuf, h[:]...)
		if q.Table != 0 {
			c.attrU32(unix.RTA_TABLE, q.Table)
		}
		c.end(off)
		return seq
	}, func(m nlMsg) bool {
		// What is not a default is passed over on its prefix length,
		// without decoding it. (IPv4's 0.0.0.0/8 comes before 0.0.0.0/0:
		// its dump is left below, on the first other address.)
		if q.DefaultsOnly && f == netcfg.V6 && len(m.data) >= rtmsgLen && m.data[1] != 0 {
			return true
		}
		if probe && m.typ == unix.RTM_NEWROUTE {
			if seen++; seen > mainProbe4 {
				big = true
				return false
			}
			if past {
				return true
			}
		}
		// A table the caller throws away is passed over on rtm_table;
		// ids from 256 up are there as RT_TABLE_COMPAT, and decoded.
		if len(q.Except) > 0 && len(m.data) >= rtmsgLen && m.data[4] != unix.RT_TABLE_COMPAT && slices.Contains(q.Except, uint32(m.data[4])) {
			return true
		}
		if m.typ != unix.RTM_NEWROUTE || !decodeRoute(m.data, links, &r) {
			return true
		}
		if q.Table != 0 && r.Table != q.Table {
			return true
		}
		if q.DefaultsOnly && f == netcfg.V4 && r.Dst.Addr() != netip.IPv4Unspecified() {
			past = true
			return probe
		}
		if q.DefaultsOnly && !r.IsDefault() {
			return true
		}
		if err := fn(&r); err != nil {
			ferr = err
			return false
		}
		return true
	})
	if ferr != nil {
		return ferr
	}
	if probe && (err == nil || big) {
		orig.mainBig4 = big
	}
	// A table that does not exist yet is empty, not an error.
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// dumpOnce builds a request with build and runs the dump, once.
func (c *rtnl) dumpOnce(build func() uint32, fn func(m nlMsg) bool) error {
	c.wbuf = c.wbuf[:0]
	seq := build()
	return c.dump(seq, fn)
}

// dumpStreamOnce is dumpOnce through dumpStream.
func (c *rtnl) dumpStreamOnce(build func() uint32, fn func(m nlMsg) bool) error {
	c.wbuf = c.wbuf[:0]
	seq := build()
	return c.dumpStream(seq, fn)
}

// rules returns every IPv4 and IPv6 rule, in kernel order.
func (c *rtnl) rules() ([]netcfg.Rule, error) {
	var out []netcfg.Rule
	c.ruleDumps++
	for _, f := range []netcfg.Family{netcfg.V4, netcfg.V6} {
		err := c.dumpOnce(func() uint32 {
			off, seq := c.begin(unix.RTM_GETRULE, unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
			var h [fibHdrLen]byte
			h[0] = afOf(f)
			c.wbuf = append(c.wbuf, h[:]...)
			c.end(off)
			return seq
		}, func(m nlMsg) bool {
			if m.typ != unix.RTM_NEWRULE {
				return true
			}
			if r, ok := decodeRule(m.data); ok {
				out = append(out, r)
			}
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("list %s rules: %w", f, err)
		}
	}
	return out, nil
}
