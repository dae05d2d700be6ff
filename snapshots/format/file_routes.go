package format

import (
	"net/netip"

	"github.com/goccy/go-yaml/ast"

	"github.com/nictab/nictab/netcfg"
)

func (d *decoder) routes(n ast.Node) []netcfg.RouteIntent {
	// A check keeps no route: only the keys, for finding duplicates.
	keep := !d.lim.checkOnly
	hint := d.sizeHint("routes")
	var out []netcfg.RouteIntent
	var mapped <-chan struct{}
	if keep {
		out, mapped = roomFor[netcfg.RouteIntent](d, "routes", hint)
	}
	// One route per kernel key is let through, so an earlier route the
	// same as this one is the one under its key.
	type taken = routeTaken
	keys := map[routeKey]taken{}
	// Most routes are IPv4 in a table given by number: their key packs
	// into 16 bytes, which an index finds several times faster than a
	// map of the whole key. A key is always in the same one of the two.
	// It is made at the first route taken one by one: a long list with
	// no key twice (keyHashes) needs none.
	var packed *packedIndex
	// add takes route r of entry i under its key. A key already taken
	// is reported at item; from the fast decoder (item nil) the entry is
	// refused instead, for the decoder to read and report.
	add := func(i int, r *netcfg.RouteIntent, item ast.Node, path string) bool {
		full := identityOf(r)
		var t taken
		var dup bool
		p, isPacked := packKey(&full.routeKey)
		if isPacked && packed == nil {
			packed = newPackedIndex(hint)
		}
		if isPacked {
			t, dup = packed.claim(p, taken{i, len(out)})
		} else {
			t, dup = keys[full.routeKey]
		}
		if dup {
			switch {
			case item == nil:
				return false
			case !keep:
				// checkLoads parses again keeping the routes, for the
				// message Load gives.
				d.fail(item, path, "the same key as routes[%d] (line %d)", t.item, d.itemLine("routes", t.item))
			case identityOf(&out[t.at]) == full:
				d.fail(item, path, "the same route as routes[%d] (line %d)", t.item, d.itemLine("routes", t.item))
			default:
				d.fail(item, path, "clashes with routes[%d] (line %d): a table holds one route per destination and metric; set a metric, or use another table", t.item, d.itemLine("routes", t.item))
			}
			return false
		}
		if !isPacked {
			keys[full.routeKey] = taken{i, len(out)}
		}
		if keep {
			out = append(out, *r)
		}
		return true
	}
	// unique is set when a list read in parts is all fast entries with
	// no key twice (hashes): they are then taken all at once, where they
	// were decoded.
	unique := false
	room := out[:cap(out)]
	var hashes *keyHashes
	fast := &fastList[netcfg.RouteIntent]{items: room, dec: d.fastRoute, mapped: mapped,
		parts:  func(n int) { hashes = newKeyHashes(n) },
		claim:  func(slot int, r *netcfg.RouteIntent) { hashes.set(slot, r) },
		onMove: func(dst, src, n int) { copy(hashes.h[dst:], hashes.h[src:src+n]) },
		all:    func(rs []netcfg.RouteIntent) { unique = hashes.distinct(len(rs)) },
		whole: func(n int) bool {
			if !unique || len(out) != 0 || n > len(room) {
				return false
			}
			out = room[:n]
			return true
		},
		keep: func(i int, r *netcfg.RouteIntent) bool { return add(i, r, nil, "") },
	}
	d.eachItem(n, "routes", routeKeys, fast, func(i int, item ast.Node, f *fields, clean bool) {
		if r, ok := d.route(f, f.path); ok && clean {
			add(i, &r, item, f.path)
		}
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

func (d *decoder) route(f *fields, path string) (netcfg.RouteIntent, bool) {
	var r netcfg.RouteIntent
	ok := d.require(f, "table", "to")
	good := true
	if f.has("table") {
		r.Table, good = d.tableRef(f.vals["table"], join(path, "table"))
		ok = ok && good
	}
	isDefault := false
	if f.has("to") {
		r.To, good = d.prefix(f.vals["to"], join(path, "to"), routeDst)
		isDefault = good && !r.To.IsValid()
		ok = ok && good
	}
	if f.has("via") {
		r.Via, good = d.hostAddr(f.vals["via"], join(path, "via"))
		ok = ok && good
	}
	if f.has("src") {
		r.Src, good = d.hostAddr(f.vals["src"], join(path, "src"))
		ok = ok && good
	}
	if f.has("dev") {
		r.Dev, good = d.ifName(f.vals["dev"], join(path, "dev"))
		ok = ok && good
	}
	if f.has("scope") {
		var sc netcfg.Scope
		sc, good = d.scope(f.vals["scope"], join(path, "scope"))
		r.Scope = &sc
		ok = ok && good
	}
	if f.has("type") {
		r.Type, good = d.routeType(f.vals["type"], join(path, "type"), false)
		ok = ok && good
	}
	if f.has("metric") {
		var m uint64
		m, good = d.uint(f.vals["metric"], join(path, "metric"), 1<<32-1, "metrics are 0–4294967295")
		r.Metric = uint32(m)
		ok = ok && good
	}
	for _, m := range []struct {
		key string
		dst *uint32
	}{{"mtu", &r.MTU}, {"advmss", &r.AdvMSS}} {
		if f.has(m.key) {
			v, good := d.uint(f.vals[m.key], join(path, m.key), 1<<32-1, m.key+" is 1–4294967295 (leave it out for none)")
			if good && v == 0 {
				d.fail(f.vals[m.key], join(path, m.key), "0 means no %s: leave it out", m.key)
				good = false
			}
			*m.dst, ok = uint32(v), ok && good
		}
	}
	if !ok {
		return r, false
	}
	if isDefault {
		switch {
		case r.Via.IsValid():
			r.To = defaultRoute(netcfg.FamilyOf(r.Via))
		case r.Src.IsValid():
			r.To = defaultRoute(netcfg.FamilyOf(r.Src))
		default:
			d.fail(f.vals["to"], join(path, "to"), "default of which family? write 0.0.0.0/0 or ::/0, or give via:")
			return r, false
		}
	}
	fam := netcfg.FamilyOf(r.To.Addr())
	// An IPv4 route may go via an IPv6 gateway (RFC 5549), not the reverse.
	if r.Via.IsValid() && fam == netcfg.V6 && netcfg.FamilyOf(r.Via) == netcfg.V4 {
		d.fail(f.vals["via"], join(path, "via"), "an IPv6 route cannot go via the IPv4 address %s", r.Via)
		return r, false
	}
	if r.Src.IsValid() && netcfg.FamilyOf(r.Src) != fam {
		d.fail(f.vals["src"], join(path, "src"), "%s is not an %s address, and the route is %s", r.Src, famName(fam), famName(fam))
		return r, false
	}
	if (r.Type == netcfg.RouteUnicast || r.Type == netcfg.RouteUnspec) && !r.Via.IsValid() && r.Dev == "" {
		d.fail(f.node, path, "a unicast route needs via: or dev:")
		return r, false
	}
	return r, true
}

func defaultRoute(f netcfg.Family) netip.Prefix {
	if f == netcfg.V6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

// routeKey is what the kernel tells routes apart by.
type routeKey struct {
	name   string
	id     uint32
	to     netip.Prefix
	metric uint32
}

// packKey packs the key of an IPv4 route in a table given by number.
func packKey(k *routeKey) ([2]uint64, bool) {
	if k.name != "" || !k.to.Addr().Is4() {
		return [2]uint64{}, false
	}
	a := k.to.Addr().As4()
	return [2]uint64{uint64(k.id)<<32 | uint64(k.metric), uint64(a[0])<<32 | uint64(a[1])<<24 | uint64(a[2])<<16 | uint64(a[3])<<8 | uint64(k.to.Bits())}, true
}

// routeIdentity is the whole route.
type routeIdentity struct {
	routeKey
	typ      netcfg.RouteType
	via, src netip.Addr
	dev      string
	scope    int
	mtu      uint32
	advmss   uint32
}

func identityOf(r *netcfg.RouteIntent) routeIdentity {
	scope := -1
	if r.Scope != nil {
		scope = int(*r.Scope)
	}
	return routeIdentity{routeKey: routeKey{r.Table.Name, r.Table.ID, r.To, r.Metric}, typ: r.Type, via: r.Via, src: r.Src, dev: r.Dev, scope: scope, mtu: r.MTU, advmss: r.AdvMSS}
}

func (d *decoder) scope(n ast.Node, path string) (netcfg.Scope, bool) {
	s, ok := d.text(n, path)
	if !ok {
		return 0, false
	}
	sc, err := netcfg.ParseScope(s)
	if err != nil {
		d.fail(n, path, "%v", err)
		return 0, false
	}
	return sc, true
}

// routeType decodes a route type by name; numbered reads the numbers a
// saved snapshot writes for types that have no name.
func (d *decoder) routeType(n ast.Node, path string, numbered bool) (netcfg.RouteType, bool) {
	if _, isInt := n.(*ast.IntegerNode); isInt && numbered {
		v, ok := d.uint(n, path, 255, "route types are 0–255")
		return netcfg.RouteType(v), ok
	}
	s, ok := d.text(n, path)
	if !ok {
		return 0, false
	}
	t, err := netcfg.ParseRouteType(s)
	if err != nil {
		d.fail(n, path, "unknown route type %q (want unicast, blackhole, unreachable, prohibit, throw, local, broadcast, anycast, multicast or nat)", s)
		return 0, false
	}
	return t, true
}
