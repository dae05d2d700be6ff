package format

import (
	"net/netip"

	"github.com/goccy/go-yaml/ast"

	"github.com/nictab/nictab/netcfg"
)

// The resolved section is what nictab read back from the kernel after an
// apply. It is taken exactly as written, with no policy of its own: a
// rollback must restore what was there, whatever it was.

var (
	resolvedKeys   = []string{"names", "rules", "routes"}
	savedRuleKeys  = []string{"family", "priority", "not", "from", "to", "iif", "oif", "fwmark", "tos", "uidrange", "ipproto", "sport", "dport", "l3mdev", "action", "table", "goto", "suppress_prefixlength", "suppress_ifgroup", "protocol"}
	savedRouteKeys = []string{"table", "type", "to", "via", "dev", "src", "scope", "protocol", "metric", "tos", "onlink", "nexthops"}
	nexthopKeys    = append([]string{"via", "dev", "weight", "onlink"}, nexthopAttrKeys...)
)

func init() {
	savedRuleKeys = append(savedRuleKeys, ruleAttrKeys...)
	savedRouteKeys = append(savedRouteKeys, routeAttrKeys...)
}

const (
	maxU32   = 1<<32 - 1
	maxInt32 = 1<<31 - 1
)

func (d *decoder) resolved(n ast.Node) *netcfg.Owned {
	f, _ := d.mapping(n, "resolved", resolvedKeys...)
	if f == nil {
		return nil
	}
	t := &netcfg.Owned{}
	items, _ := d.list(f.vals["names"], "resolved.names")
	for i, item := range items {
		path := index("resolved.names", i)
		g, clean := d.mapping(item, path, tableKeys...)
		if g == nil || !d.require(g, "id", "name") {
			continue
		}
		id, ok1 := d.uint(g.vals["id"], join(path, "id"), maxU32, "table ids are 0–4294967295")
		name, ok2 := d.text(g.vals["name"], join(path, "name"))
		if ok2 && !netcfg.ValidTableName(name) {
			d.fail(g.vals["name"], join(path, "name"), "%q is not a usable table name", name)
			ok2 = false
		}
		if ok1 && ok2 && clean {
			t.Names = append(t.Names, netcfg.TableName{ID: uint32(id), Name: name})
		}
	}
	keep := !d.lim.checkOnly
	var mapped <-chan struct{}
	if keep {
		t.Rules = make([]netcfg.Rule, 0, d.sizeHint("resolved.rules"))
		t.Routes, mapped = roomFor[netcfg.Route](d, "resolved.routes", d.sizeHint("resolved.routes"))
	}
	d.eachItem(f.vals["rules"], "resolved.rules", savedRuleKeys, nil, func(_ int, _ ast.Node, g *fields, clean bool) {
		if r, ok := d.savedRule(g, g.path); ok && clean && keep {
			t.Rules = append(t.Rules, r)
		}
	})
	fast := &fastList[netcfg.Route]{items: t.Routes[:cap(t.Routes)], dec: d.fastSavedRoute, mapped: mapped, keep: func(_ int, r *netcfg.Route) bool {
		if keep {
			t.Routes = append(t.Routes, *r)
		}
		return true
	}}
	d.eachItem(f.vals["routes"], "resolved.routes", savedRouteKeys, fast, func(_ int, _ ast.Node, g *fields, clean bool) {
		if r, ok := d.savedRoute(g, g.path); ok && clean && keep {
			t.Routes = append(t.Routes, r)
		}
	})
	if len(t.Rules) == 0 {
		t.Rules = nil
	}
	if len(t.Routes) == 0 {
		t.Routes = nil
	}
	return t
}

// numbers decodes the integer fields of one mapping into their
// destinations, reporting whether all were good.
type numbers struct {
	d  *decoder
	f  *fields
	ok bool
}

func (x *numbers) get(key string, hi uint64, rng string) (uint64, bool) {
	if !x.f.has(key) {
		return 0, false
	}
	v, ok := x.d.uint(x.f.vals[key], join(x.f.path, key), hi, rng)
	x.ok = x.ok && ok
	return v, ok
}

func (x *numbers) u8(key string, dst *uint8) {
	if v, ok := x.get(key, 255, key+" is 0–255"); ok {
		*dst = uint8(v)
	}
}

func (x *numbers) u32(key string, dst *uint32) {
	if v, ok := x.get(key, maxU32, key+" is 0–4294967295"); ok {
		*dst = uint32(v)
	}
}

func (x *numbers) int(key string, hi uint64, rng string, dst *int) {
	if v, ok := x.get(key, hi, rng); ok {
		*dst = int(v)
	}
}

func (x *numbers) flag(key string, dst *bool) {
	if x.f.has(key) {
		v, ok := x.d.boolean(x.f.vals[key], join(x.f.path, key))
		*dst = v
		x.ok = x.ok && ok
	}
}

func (x *numbers) iface(key string, dst *string) {
	if x.f.has(key) {
		v, ok := x.d.ifName(x.f.vals[key], join(x.f.path, key))
		*dst = v
		x.ok = x.ok && ok
	}
}

func (x *numbers) addr(key string, dst *netip.Addr) {
	if x.f.has(key) {
		v, ok := x.d.addr(x.f.vals[key], join(x.f.path, key), false)
		*dst = v
		x.ok = x.ok && ok
	}
}

func (x *numbers) prefix(key string, dst *netip.Prefix) {
	if x.f.has(key) {
		v, ok := x.d.prefix(x.f.vals[key], join(x.f.path, key), exactPrefix)
		*dst = v
		x.ok = x.ok && ok
	}
}

func (d *decoder) savedRule(f *fields, path string) (netcfg.Rule, bool) {
	r := netcfg.NewRule()
	x := &numbers{d: d, f: f, ok: d.require(f, "family", "priority")}
	if f.has("family") {
		if s, ok := d.text(f.vals["family"], join(path, "family")); ok {
			switch s {
			case "inet":
				r.Family = netcfg.V4
			case "inet6":
				r.Family = netcfg.V6
			default:
				d.fail(f.vals["family"], join(path, "family"), "unknown family %q (want inet or inet6)", s)
				x.ok = false
			}
		} else {
			x.ok = false
		}
	}
	x.u32("priority", &r.Priority)
	x.flag("not", &r.Not)
	x.prefix("from", &r.From)
	x.prefix("to", &r.To)
	x.iface("iif", &r.IIF)
	x.iface("oif", &r.OIF)
	if f.has("fwmark") {
		m, ok := d.fwmark(f.vals["fwmark"], join(path, "fwmark"), false)
		r.Mark, x.ok = m, x.ok && ok
	}
	x.u8("tos", &r.Tos)
	if f.has("uidrange") {
		lo, hi, ok := d.rangeOf(f.vals["uidrange"], join(path, "uidrange"), maxU32, "uid range")
		r.UIDRange, x.ok = &netcfg.UIDRange{Start: uint32(lo), End: uint32(hi)}, x.ok && ok
	}
	x.u8("ipproto", &r.IPProto)
	for _, p := range []struct {
		key string
		dst **netcfg.PortRange
	}{{"sport", &r.SPort}, {"dport", &r.DPort}} {
		if f.has(p.key) {
			lo, hi, ok := d.rangeOf(f.vals[p.key], join(path, p.key), 65535, "port range")
			*p.dst, x.ok = &netcfg.PortRange{Start: uint16(lo), End: uint16(hi)}, x.ok && ok
		}
	}
	x.flag("l3mdev", &r.L3MDev)
	if f.has("action") {
		n := f.vals["action"]
		if _, isInt := n.(*ast.IntegerNode); isInt {
			var v uint8
			x.u8("action", &v)
			r.Action = netcfg.RuleAction(v)
		} else if s, ok := d.text(n, join(path, "action")); !ok {
			x.ok = false
		} else if r.Action, ok = parseAction(s); !ok {
			d.fail(n, join(path, "action"), "unknown action %q (want lookup, goto, nop, blackhole, unreachable or prohibit)", s)
			x.ok = false
		}
	}
	x.u32("table", &r.Table)
	x.u32("goto", &r.Goto)
	x.int("suppress_prefixlength", maxInt32, "suppress_prefixlength is 0–2147483647 (leave it out for none)", &r.SuppressPrefixLen)
	x.int("suppress_ifgroup", maxInt32, "suppress_ifgroup is 0–2147483647 (leave it out for none)", &r.SuppressIfgroup)
	x.u8("protocol", &r.Proto)
	d.savedRuleAttrs(x, &r)
	if !x.ok {
		return r, false
	}
	for _, k := range []string{"from", "to"} {
		p := r.From
		if k == "to" {
			p = r.To
		}
		if p.IsValid() && p.Addr().Is4() != (r.Family == netcfg.V4) {
			d.fail(f.vals[k], join(path, k), "%s is not an %s prefix, and the rule is %s", p, famName(r.Family), r.Family)
			return r, false
		}
	}
	return r, true
}

func parseAction(s string) (netcfg.RuleAction, bool) {
	a, err := netcfg.ParseRuleAction(s)
	return a, err == nil
}

func (d *decoder) savedRoute(f *fields, path string) (netcfg.Route, bool) {
	r := netcfg.Route{Type: netcfg.RouteUnicast}
	x := &numbers{d: d, f: f, ok: d.require(f, "table", "to")}
	x.u32("table", &r.Table)
	if f.has("type") {
		t, ok := d.routeType(f.vals["type"], join(path, "type"), true)
		r.Type, x.ok = t, x.ok && ok
	}
	x.prefix("to", &r.Dst)
	x.addr("via", &r.Gw)
	x.iface("dev", &r.Dev)
	x.addr("src", &r.Src)
	if f.has("scope") {
		sc, ok := d.scope(f.vals["scope"], join(path, "scope"))
		r.Scope, x.ok = sc, x.ok && ok
	}
	x.u8("protocol", &r.Proto)
	x.u32("metric", &r.Metric)
	x.u8("tos", &r.Tos)
	x.flag("onlink", &r.Onlink)
	d.savedRouteAttrs(x, &r)
	if !f.has("nexthops") {
		// Most routes have one next hop; the path is not made for them.
		return r, x.ok
	}
	items, ok := d.list(f.vals["nexthops"], join(path, "nexthops"))
	x.ok = x.ok && ok
	for i, item := range items {
		hp := index(join(path, "nexthops"), i)
		g, clean := d.mapping(item, hp, nexthopKeys...)
		if g == nil {
			x.ok = false
			continue
		}
		h := &numbers{d: d, f: g, ok: clean}
		var nh netcfg.NextHop
		h.addr("via", &nh.Gw)
		h.iface("dev", &nh.Dev)
		h.int("weight", 256, "weight is 0–256", &nh.Weight)
		h.flag("onlink", &nh.Onlink)
		h.u32("realms", &nh.Realms)
		d.opaqueAttrs(h, &nh.Encap, &nh.Unmodelled)
		x.ok = x.ok && h.ok
		r.MultiPath = append(r.MultiPath, nh)
	}
	return r, x.ok
}
