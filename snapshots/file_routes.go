package snapshots

import (
	"fmt"
	"net/netip"

	"github.com/goccy/go-yaml/ast"

	"github.com/nictab/nictab/netcfg"
)

func (d *decoder) routes(n ast.Node) []netcfg.RouteIntent {
	items, _ := d.list(n, "routes")
	var out []netcfg.RouteIntent
	same := map[string]int{}
	keys := map[string]int{}
	for i, item := range items {
		path := index("routes", i)
		f, clean := d.mapping(item, path, routeKeys...)
		if f == nil {
			continue
		}
		r, ok := d.route(f, path)
		if !ok || !clean {
			continue
		}
		k, full := routeIntentKeys(&r)
		if j, dup := same[full]; dup {
			d.fail(item, path, "the same route as routes[%d] (line %d)", j, d.pos[index("routes", j)].line)
			continue
		}
		if j, dup := keys[k]; dup {
			d.fail(item, path, "clashes with routes[%d] (line %d): a table holds one route per destination and metric; set a metric, or use another table", j, d.pos[index("routes", j)].line)
			continue
		}
		same[full], keys[k] = i, i
		out = append(out, r)
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

// routeIntentKeys returns what the kernel tells routes apart by, and the
// whole route.
func routeIntentKeys(r *netcfg.RouteIntent) (key, full string) {
	key = fmt.Sprintf("%q %d %s %d", r.Table.Name, r.Table.ID, r.To, r.Metric)
	scope := "-"
	if r.Scope != nil {
		scope = r.Scope.String()
	}
	return key, fmt.Sprintf("%s %d %s %q %s %s %d %d", key, r.Type, r.Via, r.Dev, r.Src, scope, r.MTU, r.AdvMSS)
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
