//go:build linux

package memkernel

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/nictab/nictab/netcfg"
	"golang.org/x/sys/unix"
)

// errUnmodelled refuses what the in-memory kernel does not model, rather
// than guess what the kernel would do.
var errUnmodelled = errors.New("memkernel: not modelled")

// ip6DefaultMetric is the metric the kernel gives an IPv6 route added
// without one (IP6_RT_PRIO_USER).
const ip6DefaultMetric = 1024

func (k *Kernel) applyRoute(kind netcfg.OpKind, in *netcfg.Route) error {
	v6 := in.Family() == netcfg.V6
	switch {
	case in.NHID != 0:
		return fmt.Errorf("%w: routes through nexthop objects", errUnmodelled)
	case v6 && len(in.MultiPath) > 0:
		return fmt.Errorf("%w: IPv6 multipath routes (siblings)", errUnmodelled)
	case in.Encap != nil || len(in.Unmodelled) > 0:
		return fmt.Errorf("%w: encapsulation and raw attributes", errUnmodelled)
	}
	if !v6 && !prefixMasked(in.Dst) {
		return kerr(unix.EINVAL, "Invalid prefix for given prefix length")
	}
	r := cloneRoute(in)
	if r.Type == netcfg.RouteUnspec {
		r.Type = netcfg.RouteUnicast
	}
	if kind == netcfg.OpDelRoute {
		i := k.findDelete(&r)
		if i < 0 && v6 && k.tables6[r.Table] && nullEntryMatches(&r) {
			// The root of an IPv6 table without a default route holds the
			// null entry, which such a request matches and cannot delete.
			return kerr(unix.ENOENT, "")
		}
		if i < 0 {
			return kerr(unix.ESRCH, "")
		}
		k.routes = slices.Delete(k.routes, i, i+1)
		return nil
	}
	if v6 {
		// The kernel makes the table before it checks the route, and
		// never removes it.
		k.tables6[r.Table] = true
	}
	if err := k.normalize(&r); err != nil {
		return err
	}
	id := netcfg.IdentityOf(&r)
	first := -1
	for _, i := range k.dumpOrder() {
		if netcfg.IdentityOf(&k.routes[i]) == id {
			first = i
			break
		}
	}
	switch {
	case first >= 0 && kind == netcfg.OpAddRoute:
		return kerr(unix.EEXIST, "")
	case first >= 0:
		// REPLACE rewrites the first route of the identity, whoever owns it.
		k.routes[first] = r
	default:
		k.routes = append(k.routes, r)
	}
	return nil
}

// encodable is the executor's own refusal, before anything is sent: it
// resolves device names to indices.
func (k *Kernel) encodable(o netcfg.Op) error {
	if o.Route == nil {
		return nil
	}
	if o.Route.Dev != "" {
		if _, ok := k.linkIndex(o.Route.Dev); !ok {
			return fmt.Errorf("no device named %q", o.Route.Dev)
		}
	}
	for _, nh := range o.Route.MultiPath {
		if nh.Dev != "" {
			if _, ok := k.linkIndex(nh.Dev); !ok {
				return fmt.Errorf("no device named %q", nh.Dev)
			}
		}
	}
	return nil
}

// dumpOrder returns the indices of k.routes in dump order.
func (k *Kernel) dumpOrder() []int {
	idx := make([]int, len(k.routes))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ra, rb := &k.routes[a], &k.routes[b]
		if ra.Family() != rb.Family() {
			return int(ra.Family()) - int(rb.Family())
		}
		return ra.Key().Compare(rb.Key())
	})
	return idx
}

// normalize checks a route to be added as the kernel does and fills in
// what the kernel fills in (IPv6 default metric, the device found for a
// gateway, scope).
func (k *Kernel) normalize(r *netcfg.Route) error {
	v6 := r.Family() == netcfg.V6
	if v6 {
		if r.Metric == 0 {
			r.Metric = ip6DefaultMetric
		}
		// IPv6 routes have no scope; dumps say universe.
		r.Scope = netcfg.ScopeUniverse
		// A reject route is the kernel's lo route in disguise.
		switch r.Type {
		case netcfg.RouteBlackhole, netcfg.RouteUnreachable, netcfg.RouteProhibit, netcfg.RouteThrow:
			if r.Dev == "" {
				r.Dev = "lo"
			}
		}
	}
	for i := range r.MultiPath {
		nh := &r.MultiPath[i]
		nh.Weight = max(nh.Weight, 1)
		if nh.Gw.IsValid() && !nh.Onlink {
			dev, err := k.gatewayDev(r, nh.Gw, nh.Dev)
			if err != nil {
				return err
			}
			nh.Dev = dev
		}
	}
	if r.Gw.IsValid() && !r.Onlink && r.Type == netcfg.RouteUnicast {
		dev, err := k.gatewayDev(r, r.Gw, r.Dev)
		if err != nil {
			return err
		}
		r.Dev = dev
	}
	if r.Src.IsValid() && !k.localAddr(r.Src) {
		if v6 {
			return kerr(unix.EINVAL, "Invalid source address")
		}
		return kerr(unix.EINVAL, "Invalid prefsrc address")
	}
	return nil
}

func (k *Kernel) localAddr(a netip.Addr) bool {
	for _, l := range k.links {
		for _, p := range l.Addrs {
			if p.Prefix.Addr() == a {
				return true
			}
		}
	}
	return false
}

// findDelete returns the route a delete request removes, or -1: the first
// route of the destination (and IPv6 source) that matches every attribute
// the request sends, as fib_table_delete and ip6_route_del match them.
func (k *Kernel) findDelete(r *netcfg.Route) int {
	v6 := r.Family() == netcfg.V6
	for _, i := range k.dumpOrder() {
		c := &k.routes[i]
		if c.Table != r.Table || c.Dst != r.Dst || c.Family() != r.Family() {
			continue
		}
		if r.Dev != "" && c.Dev != r.Dev || r.Gw.IsValid() && c.Gw != r.Gw ||
			r.Metric != 0 && c.Metric != r.Metric || r.Proto != 0 && c.Proto != r.Proto {
			continue
		}
		if v6 {
			if c.From != r.From {
				continue
			}
			return i
		}
		if c.Tos != r.Tos || c.Type != r.Type || (r.Scope != netcfg.ScopeNowhere && c.Scope != r.Scope) ||
			r.Src.IsValid() && c.Src != r.Src {
			continue
		}
		if len(r.MultiPath) > 0 && !slices.EqualFunc(r.MultiPath, c.MultiPath, func(a, b netcfg.NextHop) bool {
			return a.Gw == b.Gw && a.Dev == b.Dev && max(a.Weight, 1) == b.Weight
		}) {
			continue
		}
		return i
	}
	return -1
}

// nullEntryMatches reports whether an IPv6 delete request matches the
// null entry: a default route request that names no gateway, no device
// but lo, and no protocol or metric but the null entry's.
func nullEntryMatches(r *netcfg.Route) bool {
	return r.Dst.Bits() == 0 && (!r.From.IsValid() || r.From.Bits() == 0) && !r.Gw.IsValid() &&
		(r.Dev == "" || r.Dev == "lo") && (r.Proto == 0 || r.Proto == netcfg.ProtoKernel) &&
		(r.Metric == 0 || r.Metric == ^uint32(0))
}
