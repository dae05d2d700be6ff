package ui

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// Rules on screen: a new rule, an edit or a deletion of one of nictab's
// explicit rules, each an edit of the pending intent. A rule a NIC's
// assignment makes is changed through that NIC; a rule of someone else's
// is read-only until it is adopted.

// ruleEntry is an explicit rule of the intent that a form edits.
type ruleEntry struct{ intent netcfg.RuleIntent }

// The rule form's fields, in order.
const (
	rfPriority = iota
	rfFrom
	rfTo
	rfIIF
	rfOIF
	rfMark
	rfTable
	rfAction
	rfProto
	rfSPort
	rfDPort
	rfUID
)

// ruleSource says where a live rule of nictab's comes from in the pending
// intent: an explicit entry, or the NIC whose assignment makes it.
func (m *Model) ruleSource(r *netcfg.Rule) (entry *netcfg.RuleIntent, nic string) {
	in := m.intent()
	for i := range in.Rules {
		if x := &in.Rules[i]; m.intentRuleMakes(x, r) {
			return x, ""
		}
	}
	for _, n := range in.NICs {
		l, ok := m.state.Link(n.Name)
		if !ok || m.refID(n.Table) != r.Table {
			continue
		}
		switch {
		case r.IIF == n.Name || r.OIF == n.Name:
			return nil, n.Name
		case r.Mark != nil && n.FwMark != nil && *r.Mark == *n.FwMark:
			return nil, n.Name
		case r.From.IsValid() && r.From.IsSingleIP():
			for _, a := range l.Addrs {
				if a.Prefix.Addr() == r.From.Addr() {
					return nil, n.Name
				}
			}
		}
	}
	return nil, ""
}

// intentRuleMakes reports whether resolving x gives r (of either family
// for an entry without addresses).
func (m *Model) intentRuleMakes(x *netcfg.RuleIntent, r *netcfg.Rule) bool {
	if x.Lookup() {
		if r.Action != netcfg.ActionLookup || m.refID(x.Table) != r.Table {
			return false
		}
	} else if r.Action != x.Action || r.Goto != x.Goto {
		return false
	}
	flowOK := x.FlowLabel == nil && r.FlowLabel == nil || x.FlowLabel != nil && r.FlowLabel != nil && *x.FlowLabel == *r.FlowLabel
	return (x.Priority == 0 || x.Priority == r.Priority) && x.From == r.From && x.To == r.To && x.IIF == r.IIF &&
		x.OIF == r.OIF && markEqual(x.FwMark, r.Mark) && x.IPProto == r.IPProto && uidEqual(x.UIDRange, r.UIDRange) &&
		portEqual(x.SPort, r.SPort) && portEqual(x.DPort, r.DPort) && x.Not == r.Not && x.Tos == r.Tos && x.TunID == r.TunID &&
		(x.DSCP == nil) == (r.DSCP == nil) && (x.DSCP == nil || *x.DSCP == *r.DSCP) && flowOK
}

// refID is the id a table reference means here, 0 when unknown.
func (m *Model) refID(t netcfg.TableRef) uint32 {
	if t.Name == "" {
		return t.ID
	}
	if id, ok := m.state.Names.TableID(t.Name); ok {
		return id
	}
	for _, d := range m.intent().Tables {
		if d.Name == t.Name {
			return d.ID
		}
	}
	return 0
}

// checkPriority checks a rule priority typed for a rule of nictab's.
func (m *Model) checkPriority(s string) (uint32, string) {
	v, err := strconv.ParseUint(s, 10, 32)
	switch {
	case err != nil:
		return 0, fmt.Sprintf("%q is not a number", s)
	case v == 0 || v >= 32766:
		return 0, "use 1-32765: 0, 32766 and 32767 hold the kernel's own rules (local, main, default)"
	}
	p := uint32(v)
	for i := range m.state.Rules {
		if r := &m.state.Rules[i]; r.Priority == p && !r.Owned() && !m.edits.adoptingRule(r) {
			return 0, fmt.Sprintf("priority %d is taken by a rule nictab does not own: %s", p, netcfg.SafeText(m.ruleLabel(r)))
		}
	}
	return p, ""
}

// checkTableRef reads a table typed by id or name: a name must be known.
func (m *Model) checkTableRef(s string) (uint32, string) {
	if s == "" {
		return 0, "type the table: its id (e.g. 13) or its name"
	}
	if v, err := strconv.ParseUint(s, 10, 64); err == nil {
		switch {
		case v > 0xffffffff:
			return 0, "table ids go up to 4294967295"
		case netcfg.ReservedTable(uint32(v)):
			return 0, fmt.Sprintf("table %d is reserved by the kernel; use 1-252 or 256 and up", v)
		}
		return uint32(v), ""
	}
	id := m.refID(netcfg.TableRef{Name: s})
	if id == 0 {
		for _, t := range m.edits.newTables() {
			if t.Name == s {
				id = t.ID
			}
		}
	}
	if id == 0 {
		return 0, fmt.Sprintf("no table is named %q: use its id, or create it on the Tables pane (n)", netcfg.SafeText(s))
	}
	if netcfg.ReservedTable(id) {
		return 0, fmt.Sprintf("%s is a kernel table, reserved", netcfg.SafeText(s))
	}
	return id, ""
}

// parsePrefixOrAddr reads 10.0.0.0/8, or an address alone as its host
// prefix.
func parsePrefixOrAddr(s string) (netip.Prefix, string) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Sprintf("%q is not a prefix such as 10.8.0.0/24", s)
		}
		if p.Masked() != p {
			return p.Masked(), fmt.Sprintf("%s has host bits set: the prefix is %s", p, p.Masked())
		}
		return p, ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Sprintf("%q is not an address or prefix", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), ""
}

// ruleIntentText is an explicit rule as `ip rule` would say it.
func ruleIntentText(x *netcfg.RuleIntent) string {
	var s []string
	if x.Priority != 0 {
		s = append(s, strconv.FormatUint(uint64(x.Priority), 10)+":")
	}
	if x.Not {
		s = append(s, "not")
	}
	if x.From.IsValid() {
		s = append(s, "from", x.From.String())
	} else {
		s = append(s, "from all")
	}
	if x.To.IsValid() {
		s = append(s, "to", x.To.String())
	}
	if x.IIF != "" {
		s = append(s, "iif", x.IIF)
	}
	if x.OIF != "" {
		s = append(s, "oif", x.OIF)
	}
	if x.FwMark != nil {
		s = append(s, "fwmark", fwmarkText(x.FwMark))
	}
	if x.Tos != 0 {
		s = append(s, "tos", fmt.Sprintf("0x%02x", x.Tos))
	}
	if x.DSCP != nil {
		s = append(s, "dscp", x.DSCP.String())
	}
	if x.FlowLabel != nil {
		s = append(s, "flowlabel", x.FlowLabel.String())
	}
	if x.UIDRange != nil {
		s = append(s, "uidrange", fmt.Sprintf("%d-%d", x.UIDRange.Start, x.UIDRange.End))
	}
	if x.IPProto != 0 {
		s = append(s, "ipproto", ipProtoName(x.IPProto))
	}
	if x.SPort != nil {
		s = append(s, "sport", portSelText(x.SPort))
	}
	if x.DPort != nil {
		s = append(s, "dport", portSelText(x.DPort))
	}
	if x.TunID != 0 {
		s = append(s, "tun_id", strconv.FormatUint(x.TunID, 10))
	}
	if x.Action == netcfg.ActionGoto {
		return strings.Join(append(s, "goto", strconv.FormatUint(uint64(x.Goto), 10)), " ")
	}
	if !x.Lookup() {
		return strings.Join(append(s, x.Action.String()), " ")
	}
	return strings.Join(append(s, "lookup", x.Table.String()), " ")
}

// ruleAction handles n, e, d and A on the rules pane.
func (m *Model) ruleAction(act string) {
	if act == "new" {
		m.openRuleForm(nil)
		return
	}
	if m.list.ruleCount() == 0 {
		m.setFlash("no rule is under the cursor", true)
		return
	}
	r := &m.list.ruleAt(m.nics.cursor[paneRules]).Rule
	text := netcfg.SafeText(m.ruleLabel(r))
	switch ruleOwner(r) {
	case "kernel":
		m.setFlash("rule "+text+" is the kernel's own: nictab leaves it alone", true)
		return
	case "other":
		if act != "adopt" {
			m.setFlash("rule "+text+" is not nictab's: A adopts it (moving no packet), then it can be changed", true)
			return
		}
		m.adoptRule(r)
		return
	}
	if act == "adopt" {
		m.setFlash("rule "+text+" is nictab's already", true)
		return
	}
	entry, nic := m.ruleSource(r)
	switch {
	case entry == nil && m.pendingRuleMark(r) == "delete":
		m.setFlash("rule "+text+" is to be deleted already (u undoes)", true)
	case entry == nil && nic != "":
		m.setFlash("rule "+text+" is made by "+netcfg.SafeText(nic)+"'s assignment: change it on the NICs pane (a), or unassign it (d)", true)
	case entry == nil:
		m.setFlash("rule "+text+" is nictab's but in no entry of the intent: the next apply deletes it", true)
	case act == "edit":
		m.openRuleForm(entry)
	case act == "delete":
		b := *entry
		m.edits = m.edits.push(op{kind: opRule, ruleBefore: &b, what: "deletion of rule " + ruleIntentText(&b)})
		m.setFlash("rule "+netcfg.SafeText(ruleIntentText(&b))+" will be deleted when applied (p previews, u undoes)", false)
	}
}

// adoptRule marks a rule of someone else's to be taken over.
func (m *Model) adoptRule(r *netcfg.Rule) {
	text := netcfg.SafeText(m.ruleLabel(r))
	switch {
	case m.edits.adoptingRule(r):
		m.setFlash("rule "+text+" is marked for adoption already (u undoes)", true)
		return
	case len(r.Opaque()) > 0:
		m.setFlash("rule "+text+" holds attributes nictab cannot reproduce: it is never adopted", true)
		return
	}
	if _, ok := netcfg.RuleIntentOf(r); !ok {
		m.setFlash("rule "+text+" cannot be said in a snapshot's rules: (no address, or a selector the file has no key for): `nictab snapshot save --adopt` takes it over with the rest", true)
		return
	}
	c := *r
	m.edits = m.edits.push(op{kind: opAdoptRule, adoptRule: &c, what: "adoption of rule " + m.ruleLabel(r)})
	m.setFlash("rule "+text+" will become nictab's when applied, moving no packet (p previews, u undoes)", false)
}

// saveForm pushes the edit a form describes.
func (m *Model) saveForm(c formCheck) {
	m.edits = m.edits.push(c.op)
	if c.op.kind == opRule && m.formFrom == screenNICs {
		m.newRule = c.op.ruleAfter
	}
	m.newRoute = c.op.kind == opRoute && c.op.routeBefore == nil && !m.routes.filter.active()
	m.setFlash(netcfg.SafeText(c.op.what)+" noted; p previews every edit, u undoes", false)
}

// undo drops the last edit.
func (m *Model) undo() {
	e, o, ok := m.edits.undo()
	if !ok {
		m.setFlash("no edit to undo", true)
		return
	}
	m.edits = e
	m.setFlash("undid the "+netcfg.SafeText(o.what)+" ("+plural(e.len(), "edit")+" left)", false)
}

// pendingRuleMark says what the edits do to a live rule: "" for nothing.
func (m *Model) pendingRuleMark(r *netcfg.Rule) string {
	if m.edits.adoptingRule(r) {
		return "adopt"
	}
	if !r.Owned() || !slices.ContainsFunc(m.edits.ops, func(o op) bool { return o.kind == opRule && o.ruleBefore != nil }) {
		return ""
	}
	for _, o := range m.edits.ops {
		if o.kind == opRule && o.ruleBefore != nil && m.intentRuleMakes(o.ruleBefore, r) {
			if o.ruleAfter == nil {
				return "delete"
			}
			return "change"
		}
	}
	return ""
}

// ruleLabel is a live rule as the rules pane shows it, with its priority.
func (m *Model) ruleLabel(r *netcfg.Rule) string {
	return strconv.FormatUint(uint64(r.Priority), 10) + ": " + RuleText(r, m.state.Names.TableName(r.Table), &m.state.Names)
}

// showNewRule puts the rules pane's cursor on the rule just saved, a row
// the kernel does not hold yet, wherever the list puts it.
func (m *Model) showNewRule() {
	x := m.newRule
	m.newRule = nil
	if x == nil {
		return
	}
	for i := range m.list.ruleCount() {
		if r := m.list.ruleAt(i); r.Pending && m.intentRuleMakes(x, &r.Rule) {
			m.nics.focus, m.nics.cursor[paneRules] = paneRules, i
			return
		}
	}
}

func uidEqual(a, b *netcfg.UIDRange) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func portEqual(a, b *netcfg.PortRange) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// portSelText is N, START-END, or N/MASK.
func portSelText(p *netcfg.PortRange) string {
	if p.Mask != 0 {
		return fmt.Sprintf("%d/0x%x", p.Start, p.Mask)
	}
	return rangeText(uint64(p.Start), uint64(p.End))
}

// rangeText is N, or START-END.
func rangeText(lo, hi uint64) string {
	if lo == hi {
		return strconv.FormatUint(lo, 10)
	}
	return strconv.FormatUint(lo, 10) + "-" + strconv.FormatUint(hi, 10)
}

// parseRange reads N or START-END, each at most top.
func parseRange(s string, top uint64, what string) (uint64, uint64, string) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 64)
	hi, err2 := lo, error(nil)
	if isRange {
		hi, err2 = strconv.ParseUint(strings.TrimSpace(b), 10, 64)
	}
	if err1 != nil || err2 != nil || lo > top || hi > top || lo > hi {
		return 0, 0, fmt.Sprintf("%q is not a %s range: N or START-END, 0-%d, START up to END", s, what, top)
	}
	return lo, hi, ""
}

// ipProtos are the protocols a rule is usually given by name.
var ipProtos = map[string]uint8{"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132}

// parseIPProto reads a protocol by name or number.
func parseIPProto(s string) (uint8, string) {
	if p, ok := ipProtos[strings.ToLower(s)]; ok {
		return p, ""
	}
	v, err := strconv.ParseUint(s, 10, 8)
	if err != nil || v == 0 {
		return 0, fmt.Sprintf("%q is not an IP protocol: a number 1-255, or tcp, udp, sctp, icmp, icmpv6, gre, esp", s)
	}
	return uint8(v), ""
}

func ipProtoName(p uint8) string {
	for n, v := range ipProtos {
		if v == p && n != "icmpv6" {
			return n
		}
	}
	return strconv.Itoa(int(p))
}
