package format

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/nictab/nictab/netcfg"
)

// The selectors of an explicit rule beyond the classic ones, in `ip`'s
// words: not, tos, dscp N[/MASK], flowlabel V[/MASK], a port under a mask
// (sport: 4096/0xf000), tun_id, and the goto action's target.

// ruleExtras decodes not, tos, dscp, flowlabel, tun_id and goto into r.
func (d *decoder) ruleExtras(f *fields, path string, r *netcfg.RuleIntent) bool {
	ok := true
	if f.has("not") {
		var good bool
		r.Not, good = d.boolean(f.vals["not"], join(path, "not"))
		ok = ok && good
	}
	if f.has("tos") {
		p := join(path, "tos")
		v, good := d.uint(f.vals["tos"], p, 255, "tos is the DS field byte, 0x04–0xfc, its ECN bits 0 (IPv4: 0x04–0x1c)")
		if good && v == 0 {
			d.fail(f.vals["tos"], p, "tos 0 matches every packet: leave tos out")
			good = false
		}
		r.Tos, ok = uint8(v), ok && good
	}
	if f.has("dscp") {
		v, m, good := d.valueMask(f.vals["dscp"], join(path, "dscp"), "dscp", "8 or 8/0x38", 63, 0x3f)
		r.DSCP, ok = &netcfg.DSCPMatch{Value: uint8(v), Mask: uint8(m)}, ok && good
	}
	if f.has("flowlabel") {
		v, m, good := d.valueMask(f.vals["flowlabel"], join(path, "flowlabel"), "flowlabel", "0x100 or 0x100/0xff00", 0xfffff, 0xfffff)
		r.FlowLabel, ok = &netcfg.FlowLabel{Value: uint32(v), Mask: uint32(m)}, ok && good
	}
	if f.has("tun_id") {
		p := join(path, "tun_id")
		v, good := d.uint(f.vals["tun_id"], p, 1<<64-1, "tun_id is a 64-bit tunnel id, 1–18446744073709551615")
		if good && v == 0 {
			d.fail(f.vals["tun_id"], p, "tun_id 0 is no selector (the kernel keeps none): leave tun_id out")
			good = false
		}
		r.TunID, ok = v, ok && good
	}
	switch {
	case f.has("goto") && r.Action != netcfg.ActionGoto:
		d.fail(f.vals["goto"], join(path, "goto"), "goto is only for a rule with action: goto")
		ok = false
	case f.has("goto"):
		p := join(path, "goto")
		v, good := d.uint(f.vals["goto"], p, maxU32, "goto is the priority to continue at, 1–4294967295")
		if good && v == 0 {
			d.fail(f.vals["goto"], p, "goto 0 would go back to the local rule: give a priority after this rule's")
			good = false
		}
		r.Goto, ok = uint32(v), ok && good
	case r.Action == netcfg.ActionGoto:
		d.fail(f.vals["action"], join(path, "action"), "action goto needs goto: PRIORITY, the rule to continue at")
		ok = false
	}
	return ok
}

// valueMask decodes "V" or "V/MASK" (decimal or 0x), each at most hi; a
// missing mask is full.
func (d *decoder) valueMask(n ast.Node, path, what, example string, hi, full uint64) (uint64, uint64, bool) {
	// A flow label is written in hex, a dscp or a port in decimal.
	numText := func(v uint64) string {
		if what == "flowlabel" {
			return "0x" + strconv.FormatUint(v, 16)
		}
		return strconv.FormatUint(v, 10)
	}
	var s string
	switch v := n.(type) {
	case *ast.IntegerNode:
		s = v.GetToken().Value
	case *ast.StringNode:
		s = v.Value
	default:
		if !d.unsupported(n, path) {
			d.fail(n, path, "want a %s (%s), got %s", what, example, describe(n))
		}
		return 0, 0, false
	}
	val, mask, hasMask := strings.Cut(s, "/")
	v, err := parseNum(strings.TrimSpace(val))
	if err != nil || v > hi {
		d.fail(n, path, "%q is not a %s: want 0–%s, optionally /mask (%s)", s, what, numText(hi), example)
		return 0, 0, false
	}
	m := full
	if hasMask {
		m, err = parseNum(strings.TrimSpace(mask))
		if err != nil || m == 0 || m > hi {
			d.fail(n, path, "%q is not a %s: the mask after / must be 1–%#x", s, what, full)
			return 0, 0, false
		}
	}
	if v&^m != 0 {
		d.fail(n, path, "%s %s has bits outside mask %#x", what, numText(v), m)
		return 0, 0, false
	}
	return v, m, true
}

// portSel decodes a port selector: N, START-END, or N/MASK.
func (d *decoder) portSel(n ast.Node, path string) (*netcfg.PortRange, bool) {
	if s, isStr := n.(*ast.StringNode); isStr && strings.Contains(s.Value, "/") {
		v, m, ok := d.valueMask(n, path, "port", "4096/0xf000", 65535, 0xffff)
		p := &netcfg.PortRange{Start: uint16(v), End: uint16(v)}
		if m != 0xffff {
			p.Mask = uint16(m)
		}
		return p, ok
	}
	lo, hi, ok := d.rangeOf(n, path, 65535, "port range")
	return &netcfg.PortRange{Start: uint16(lo), End: uint16(hi)}, ok
}

func portSelText(p *netcfg.PortRange) string {
	if p.Mask != 0 {
		return fmt.Sprintf("%d/0x%x", p.Start, p.Mask)
	}
	return rangeText(uint64(p.Start), uint64(p.End))
}

func valueMaskText(v, m, full uint64, hex bool) string {
	s := strconv.FormatUint(v, 10)
	if hex {
		s = "0x" + strconv.FormatUint(v, 16)
	}
	if m != full {
		s += "/0x" + strconv.FormatUint(m, 16)
	}
	return s
}

// maskedText writes a number as it is and "V/MASK" as a YAML string.
func maskedText(s string) string {
	if strings.Contains(s, "/") {
		return str(s)
	}
	return s
}

// ruleIntentFlow is an explicit rule as Marshal writes it, keys in
// ruleKeys' order.
func ruleIntentFlow(f *flow, r *netcfg.RuleIntent) {
	if r.Priority != 0 {
		f.add("priority", num(r.Priority))
	}
	f.flag("not", r.Not)
	f.prefix("from", r.From)
	f.prefix("to", r.To)
	f.str("iif", r.IIF)
	f.str("oif", r.OIF)
	if r.FwMark != nil {
		f.add("fwmark", fwmarkText(r.FwMark))
	}
	if r.Tos != 0 {
		f.add("tos", fmt.Sprintf("0x%02x", r.Tos))
	}
	if r.DSCP != nil {
		f.add("dscp", maskedText(valueMaskText(uint64(r.DSCP.Value), uint64(r.DSCP.Mask), 0x3f, false)))
	}
	if r.FlowLabel != nil {
		f.add("flowlabel", maskedText(valueMaskText(uint64(r.FlowLabel.Value), uint64(r.FlowLabel.Mask), 0xfffff, true)))
	}
	if r.UIDRange != nil {
		f.add("uidrange", rangeText(uint64(r.UIDRange.Start), uint64(r.UIDRange.End)))
	}
	if r.IPProto != 0 {
		f.add("ipproto", num(r.IPProto))
	}
	if r.SPort != nil {
		f.add("sport", maskedText(portSelText(r.SPort)))
	}
	if r.DPort != nil {
		f.add("dport", maskedText(portSelText(r.DPort)))
	}
	if r.TunID != 0 {
		f.add("tun_id", strconv.FormatUint(r.TunID, 10))
	}
	if r.Lookup() {
		f.add("table", tableRefText(r.Table))
	} else {
		f.add("action", r.Action.String())
	}
	if r.Goto != 0 {
		f.add("goto", num(r.Goto))
	}
}
