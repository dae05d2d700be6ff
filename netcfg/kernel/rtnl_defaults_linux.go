//go:build linux

package kernel

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// mainProbe is how many routes of main are read for its default routes
// before main is taken to hold a full table: a datagram or two, more than
// a host that is not a router has (a connected and an fe80::/64 route per
// link).
const mainProbe = 64

// mainProbe4 is mainProbe for IPv4, whose full table's routes the kernel
// dumps about 60 to the first datagram: a probe that fits in it is
// decided there, and the kernel fills no second datagram (0.3 ms with a
// full table). Still more than a host that is not a router has.
const mainProbe4 = 48

// errLookupUnsure means a lookup answered with something other than a
// default route of main through the link asked about.
var errLookupUnsure = errors.New("the lookup did not answer with a default route of main")

// v6Defaults calls fn for main's IPv6 default routes.
//
// NOTE: the kernel dumps an IPv6 table depth first with ::/0, at its
// root, last, and a dump can be filtered by table, protocol, type and
// device but not by prefix length: reading main's IPv6 default routes
// means reading all of main's IPv6 part, 0.23 s of kernel time for a
// full table of 200k routes, paid by every command. So the dump is read
// only while it is short (mainProbe). Past that, main holds a full table,
// and the default route main uses through each link is asked for
// instead: RTM_GETROUTE of :: through that link, RTM_F_FIB_MATCH, which
// answers with the route itself. This path finds one default per link
// (the one the kernel picks: lowest metric, not dead), not defaults that
// lose to it; when an answer is not a default route of main (a rule
// before main sent the lookup elsewhere, a route more specific than ::/0
// covers ::), the whole dump is read after all.
func (c *rtnl) v6Defaults(links *linkIndexer, fn func(*netcfg.Route) error) error {
	found, big, err := c.v6DefaultsDump(links, mainProbe)
	if err != nil {
		return err
	}
	c.mainBig6 = big
	if big {
		found, err = c.v6DefaultsLookup(links)
		if errors.Is(err, errLookupUnsure) {
			found, _, err = c.v6DefaultsDump(links, -1)
		}
		if err != nil {
			return err
		}
	}
	for i := range found {
		if err := fn(&found[i]); err != nil {
			return err
		}
	}
	return nil
}

// v6DefaultsDump reads main's IPv6 default routes from a dump of main,
// giving up (big) after max routes unless max is negative.
func (c *rtnl) v6DefaultsDump(links *linkIndexer, max int) (found []netcfg.Route, big bool, err error) {
	// A socket of its own: an abandoned dump's socket is closed after
	// (see routesFamily).
	p, err := c.openOneShot()
	if err != nil {
		return nil, false, err
	}
	defer p.closeOneShot(c)
	seen := 0
	var r netcfg.Route
	err = p.dumpOnce(func() uint32 {
		off, seq := p.begin(unix.RTM_GETROUTE, unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
		var h [rtmsgLen]byte
		h[0] = unix.AF_INET6
		p.wbuf = append(p.wbuf, h[:]...)
		p.attrU32(unix.RTA_TABLE, netcfg.TableMain)
		p.end(off)
		return seq
	}, func(m nlMsg) bool {
		if m.typ != unix.RTM_NEWROUTE || len(m.data) < rtmsgLen {
			return true
		}
		if seen++; max >= 0 && seen > max {
			big = true
			return false
		}
		if m.data[1] != 0 || !decodeRoute(m.data, links, &r) || r.Table != netcfg.TableMain {
			return true
		}
		cp := r
		cp.MultiPath = slices.Clone(r.MultiPath)
		found = append(found, cp)
		return true
	})
	if errors.Is(err, unix.ENOENT) {
		return nil, false, nil
	}
	if err != nil || big {
		return nil, big, err
	}
	return found, false, nil
}

// v6DefaultsLookup asks, for every link but lo, which default route of
// main the kernel uses to send through it.
func (c *rtnl) v6DefaultsLookup(links *linkIndexer) ([]netcfg.Route, error) {
	idx := make([]int, 0, len(links.byIndex))
	for i, name := range links.byIndex {
		if name != "lo" {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	var found []netcfg.Route
	var r netcfg.Route
	for _, i := range idx {
		var unsure bool
		err := c.dumpOnce(func() uint32 {
			off, seq := c.begin(unix.RTM_GETROUTE, unix.NLM_F_REQUEST|unix.NLM_F_ACK)
			var h [rtmsgLen]byte
			h[0] = unix.AF_INET6
			h[1] = 128 // strict checking wants the full length with RTA_DST
			binary.NativeEndian.PutUint32(h[8:], unix.RTM_F_FIB_MATCH)
			c.wbuf = append(c.wbuf, h[:]...)
			var zero [16]byte
			c.attr(unix.RTA_DST, zero[:])
			c.attrU32(unix.RTA_OIF, uint32(i))
			c.end(off)
			return seq
		}, func(m nlMsg) bool {
			if m.typ != unix.RTM_NEWROUTE {
				return true
			}
			if !decodeRoute(m.data, links, &r) || r.Table != netcfg.TableMain || !r.IsDefault() || r.Family() != netcfg.V6 {
				unsure = true
				return true
			}
			if !slices.ContainsFunc(found, func(f netcfg.Route) bool { return netcfg.RouteEqual(&f, &r) }) {
				cp := r
				cp.MultiPath = slices.Clone(r.MultiPath)
				found = append(found, cp)
			}
			return true
		})
		switch {
		case unsure:
			return nil, errLookupUnsure
		case errors.Is(err, unix.ENETUNREACH), errors.Is(err, unix.EHOSTUNREACH), errors.Is(err, unix.ENETDOWN):
			// No default route of main goes through this link.
		case err != nil:
			return nil, errors.Join(errLookupUnsure, err)
		}
	}
	// In the order a dump lists them.
	slices.SortStableFunc(found, func(a, b netcfg.Route) int { return cmp.Compare(a.Metric, b.Metric) })
	return found, nil
}
