package format

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// The rule and route attributes beyond the first format's: each is a key
// of its own in a saved rule or route, left out when unset, so files
// written before they existed read as they did.

var (
	ruleAttrKeys    = []string{"dscp", "dscp_mask", "flowlabel", "flowlabel_mask", "sport_mask", "dport_mask", "tun_id", "realms", "unmodelled"}
	routeAttrKeys   = []string{"from", "nhid", "metrics", "pref", "realms", "expires", "encap_type", "encap", "unmodelled"}
	nexthopAttrKeys = []string{"realms", "encap_type", "encap", "unmodelled"}
)

// What nictab keeps of an object only verbatim (an encapsulation, the
// attributes it does not model) is saved as hex bytes with the type
// number, so a snapshot of an owned object that became opaque still holds
// it exactly and a plan made from it knows it cannot re-create it.

func (d *decoder) opaqueAttrs(x *numbers, encap **netcfg.Encap, raw *[]netcfg.RawAttr) {
	f := x.f
	if f.has("encap") || f.has("encap_type") {
		var typ uint32
		x.u32("encap_type", &typ)
		b, ok := d.hexBytes(f, "encap")
		x.ok = x.ok && ok && typ <= 0xffff
		*encap = &netcfg.Encap{Type: uint16(typ), Data: b}
	}
	items, ok := d.list(f.vals["unmodelled"], join(f.path, "unmodelled"))
	x.ok = x.ok && ok
	for i, item := range items {
		path := index(join(f.path, "unmodelled"), i)
		s, ok := d.text(item, path)
		if !ok {
			x.ok = false
			continue
		}
		// NAME=TYPE:HEX
		name, rest, ok1 := strings.Cut(s, "=")
		num, hx, ok2 := strings.Cut(rest, ":")
		typ, err1 := strconv.ParseUint(num, 10, 16)
		b, err2 := hex.DecodeString(hx)
		if !ok1 || !ok2 || err1 != nil || err2 != nil || name == "" {
			d.fail(item, path, "want NAME=TYPE:HEX (RTA_99=99:0a0b), got %q", s)
			x.ok = false
			continue
		}
		*raw = append(*raw, netcfg.RawAttr{Type: uint16(typ), Name: name, Data: b})
	}
}

func (d *decoder) hexBytes(f *fields, key string) ([]byte, bool) {
	if !f.has(key) {
		return []byte{}, true
	}
	s, ok := d.text(f.vals[key], join(f.path, key))
	if !ok {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		d.fail(f.vals[key], join(f.path, key), "want hex bytes: %v", err)
		return nil, false
	}
	return b, true
}

func opaqueFlow(f *flow, encap *netcfg.Encap, raw []netcfg.RawAttr) {
	if encap != nil {
		f.add("encap_type", num(uint32(encap.Type)))
		f.add("encap", str(hex.EncodeToString(encap.Data)))
	}
	if len(raw) > 0 {
		items := make([]string, len(raw))
		for i, a := range raw {
			items[i] = quote(a.Name + "=" + strconv.Itoa(int(a.Type)) + ":" + hex.EncodeToString(a.Data))
		}
		f.add("unmodelled", "["+strings.Join(items, ", ")+"]")
	}
}

func metricKeys() []string {
	out := []string{"lock", "congctl"}
	for i := 2; i <= netcfg.RTAXMax; i++ {
		if i != netcfg.RTAXCCAlgo {
			out = append(out, netcfg.MetricName(i))
		}
	}
	return out
}

func (d *decoder) savedRuleAttrs(x *numbers, r *netcfg.Rule) {
	f := x.f
	if f.has("dscp") {
		v, ok := x.get("dscp", 63, "dscp is 0–63")
		r.DSCP = &netcfg.DSCPMatch{Value: uint8(v), Mask: 0x3f}
		if m, has := x.get("dscp_mask", 63, "dscp_mask is 0–63"); has && ok {
			r.DSCP.Mask = uint8(m)
		}
	} else if f.has("dscp_mask") {
		d.fail(f.vals["dscp_mask"], join(f.path, "dscp_mask"), "dscp_mask without dscp")
		x.ok = false
	}
	if f.has("flowlabel") {
		v, ok := x.get("flowlabel", 0xfffff, "flowlabel is 0–0xfffff")
		r.FlowLabel = &netcfg.FlowLabel{Value: uint32(v), Mask: 0xfffff}
		if m, has := x.get("flowlabel_mask", 0xfffff, "flowlabel_mask is 0–0xfffff"); has && ok {
			r.FlowLabel.Mask = uint32(m)
		}
	} else if f.has("flowlabel_mask") {
		d.fail(f.vals["flowlabel_mask"], join(f.path, "flowlabel_mask"), "flowlabel_mask without flowlabel")
		x.ok = false
	}
	for _, p := range []struct {
		key string
		r   *netcfg.PortRange
	}{{"sport_mask", r.SPort}, {"dport_mask", r.DPort}} {
		if !f.has(p.key) {
			continue
		}
		m, ok := x.get(p.key, 0xffff, p.key+" is 1–0xffff")
		if ok && (p.r == nil || p.r.Start != p.r.End || m == 0) {
			d.fail(f.vals[p.key], join(f.path, p.key), "%s needs a single port beside it and is not 0", p.key)
			x.ok = false
			continue
		}
		if ok && m != 0xffff {
			p.r.Mask = uint16(m)
		}
	}
	if v, ok := x.get("tun_id", 1<<64-1, "tun_id is 0–18446744073709551615"); ok {
		r.TunID = v
	}
	x.u32("realms", &r.Realms)
	var none *netcfg.Encap
	d.opaqueAttrs(x, &none, &r.Unmodelled)
}

func ruleAttrsFlow(f *flow, r *netcfg.Rule) {
	opaqueFlow(f, nil, r.Unmodelled)
	if r.DSCP != nil {
		f.add("dscp", num(r.DSCP.Value))
		if r.DSCP.Mask != 0x3f {
			f.add("dscp_mask", num(r.DSCP.Mask))
		}
	}
	if r.FlowLabel != nil {
		f.add("flowlabel", "0x"+strconv.FormatUint(uint64(r.FlowLabel.Value), 16))
		if r.FlowLabel.Mask != 0xfffff {
			f.add("flowlabel_mask", "0x"+strconv.FormatUint(uint64(r.FlowLabel.Mask), 16))
		}
	}
	if r.SPort != nil && r.SPort.Mask != 0 {
		f.add("sport_mask", "0x"+strconv.FormatUint(uint64(r.SPort.Mask), 16))
	}
	if r.DPort != nil && r.DPort.Mask != 0 {
		f.add("dport_mask", "0x"+strconv.FormatUint(uint64(r.DPort.Mask), 16))
	}
	if r.TunID != 0 {
		f.add("tun_id", strconv.FormatUint(r.TunID, 10))
	}
	if r.Realms != 0 {
		f.add("realms", num(r.Realms))
	}
}

func (d *decoder) savedRouteAttrs(x *numbers, r *netcfg.Route) {
	f := x.f
	d.opaqueAttrs(x, &r.Encap, &r.Unmodelled)
	x.u32("expires", &r.Expires)
	x.prefix("from", &r.From)
	x.u32("nhid", &r.NHID)
	x.u32("realms", &r.Realms)
	if f.has("pref") {
		s, ok := d.text(f.vals["pref"], join(f.path, "pref"))
		if ok {
			p, err := netcfg.ParseRoutePref(s)
			if err != nil {
				d.fail(f.vals["pref"], join(f.path, "pref"), "%v", err)
				ok = false
			}
			r.Pref = p
		}
		x.ok = x.ok && ok
	}
	if f.has("metrics") {
		path := join(f.path, "metrics")
		g, clean := d.mapping(f.vals["metrics"], path, metricKeys()...)
		if g == nil {
			x.ok = false
			return
		}
		m := &numbers{d: d, f: g, ok: clean}
		var metrics netcfg.Metrics
		for i := 2; i <= netcfg.RTAXMax; i++ {
			if i != netcfg.RTAXCCAlgo {
				m.u32(netcfg.MetricName(i), &metrics.Values[i])
			}
		}
		if g.has("congctl") {
			s, ok := d.text(g.vals["congctl"], join(path, "congctl"))
			metrics.CongCtl, m.ok = s, m.ok && ok
		}
		items, ok := d.list(g.vals["lock"], join(path, "lock"))
		m.ok = m.ok && ok
		for i, item := range items {
			s, ok := d.text(item, index(join(path, "lock"), i))
			n, known := netcfg.MetricByName(s)
			if s == "congctl" {
				n, known = netcfg.RTAXCCAlgo, true
			}
			if ok && !known {
				d.fail(item, index(join(path, "lock"), i), "unknown metric %q", s)
			}
			m.ok = m.ok && ok && known
			metrics.Lock |= 1 << n
		}
		r.Metrics = metrics.Ptr()
		x.ok = x.ok && m.ok
	}
}

func routeAttrsFlow(f *flow, r *netcfg.Route) {
	opaqueFlow(f, r.Encap, r.Unmodelled)
	if r.Expires != 0 {
		f.add("expires", num(r.Expires))
	}
	f.prefix("from", r.From)
	if r.NHID != 0 {
		f.add("nhid", num(r.NHID))
	}
	if r.Realms != 0 {
		f.add("realms", num(r.Realms))
	}
	if r.Pref != netcfg.PrefMedium {
		f.str("pref", r.Pref.String())
	}
	if r.Metrics.IsZero() {
		return
	}
	var m flow
	for i := 2; i <= netcfg.RTAXMax; i++ {
		if i != netcfg.RTAXCCAlgo && r.Metrics.Values[i] != 0 {
			m.add(netcfg.MetricName(i), num(r.Metrics.Values[i]))
		}
	}
	m.str("congctl", r.Metrics.CongCtl)
	var locks []string
	for i := 0; i <= netcfg.RTAXMax; i++ {
		if r.Metrics.Lock&(1<<i) != 0 {
			locks = append(locks, netcfg.MetricName(i))
		}
	}
	if len(locks) > 0 {
		m.add("lock", "["+strings.Join(locks, ", ")+"]")
	}
	f.add("metrics", m.String())
}
