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
	} else if r.Action != x.Action {
		return false
	}
	return (x.Priority == 0 || x.Priority == r.Priority) && x.From == r.From && x.To == r.To && x.IIF == r.IIF &&
		x.OIF == r.OIF && markEqual(x.FwMark, r.Mark) && x.IPProto == r.IPProto && uidEqual(x.UIDRange, r.UIDRange) &&
		portEqual(x.SPort, r.SPort) && portEqual(x.DPort, r.DPort)
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

// openRuleForm opens the rule form, empty for a new rule or filled from
// the entry it edits.
func (m *Model) openRuleForm(before *netcfg.RuleIntent) {
	f := &editForm{kind: formRule, title: "New rule"}
	var x netcfg.RuleIntent
	if before != nil {
		x = *before
		f.ruleBefore = &ruleEntry{intent: x}
		f.title = "Edit rule " + netcfg.SafeText(ruleIntentText(&x))
	}
	num := func(v uint32) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatUint(uint64(v), 10)
	}
	pfxText := func(p netip.Prefix) string {
		if !p.IsValid() {
			return ""
		}
		if p.IsSingleIP() {
			return p.Addr().String()
		}
		return p.String()
	}
	mark := ""
	if x.FwMark != nil {
		mark = fwmarkText(x.FwMark)
	}
	table, action := "", ""
	if before != nil && x.Lookup() {
		table = x.Table.String()
	}
	if !x.Lookup() {
		action = x.Action.String()
	}
	f.addField(m.st, "Priority", "e.g. 1100", "empty: nictab picks one in 1000-1999", 5, num(x.Priority))
	f.addField(m.st, "From", "e.g. 10.8.0.0/24", "empty: any source", 43, pfxText(x.From))
	f.addField(m.st, "To", "e.g. 192.0.2.0/24", "empty: any destination", 43, pfxText(x.To))
	f.addField(m.st, "iif", "e.g. wg0", "empty: any incoming NIC", 15, x.IIF)
	f.addField(m.st, "oif", "e.g. eno1", "empty: any outgoing NIC", 15, x.OIF)
	f.addField(m.st, "fwmark", "e.g. 0x13 or 0x13/0xff", "empty: any mark", 23, mark)
	f.addField(m.st, "Table", "id or name, e.g. 13", "", 64, table)
	f.addField(m.st, "Action", "lookup", "empty: lookup the table; or blackhole, unreachable, prohibit", 11, action)
	proto := ""
	if x.IPProto != 0 {
		proto = strconv.Itoa(int(x.IPProto))
	}
	portText := func(p *netcfg.PortRange) string {
		if p == nil {
			return ""
		}
		return rangeText(uint64(p.Start), uint64(p.End))
	}
	uid := ""
	if x.UIDRange != nil {
		uid = rangeText(uint64(x.UIDRange.Start), uint64(x.UIDRange.End))
	}
	f.addField(m.st, "ipproto", "e.g. tcp or 6", "empty: any protocol", 6, proto)
	f.addField(m.st, "sport", "e.g. 1024-65535", "empty: any source port", 11, portText(x.SPort))
	f.addField(m.st, "dport", "e.g. 443", "empty: any destination port", 11, portText(x.DPort))
	f.addField(m.st, "uidrange", "e.g. 1000-1999", "empty: any user", 21, uid)
	if before == nil {
		f.focus = rfFrom
	}
	f.focusInput()
	m.form = f
	m.formFrom, m.screen = m.screen, screenForm
}

// checkRuleForm checks every field of the rule form.
func (m *Model) checkRuleForm(f *editForm) formCheck {
	c := formCheck{problems: map[int]string{}, notes: map[int]string{}}
	var x netcfg.RuleIntent
	if s := f.value(rfPriority); s != "" {
		p, msg := m.checkPriority(s)
		if msg != "" {
			c.problems[rfPriority] = msg
		}
		x.Priority = p
	}
	for _, a := range []struct {
		i  int
		to *netip.Prefix
	}{{rfFrom, &x.From}, {rfTo, &x.To}} {
		if s := f.value(a.i); s != "" {
			p, msg := parsePrefixOrAddr(s)
			if msg != "" {
				c.problems[a.i] = msg
			}
			*a.to = p
		}
	}
	if x.From.IsValid() && x.To.IsValid() && x.From.Addr().Is4() != x.To.Addr().Is4() {
		c.problems[rfTo] = "from and to must be of one family"
	}
	for _, d := range []struct {
		i  int
		to *string
	}{{rfIIF, &x.IIF}, {rfOIF, &x.OIF}} {
		s := f.value(d.i)
		if s == "" {
			continue
		}
		if msg := netcfg.IfNameProblem(s); msg != "" {
			c.problems[d.i] = fmt.Sprintf("%q is not an interface name: %s", netcfg.SafeText(s), msg)
			continue
		}
		*d.to = s
		if _, ok := m.state.Link(s); !ok {
			c.notes[d.i] = "no NIC " + netcfg.SafeText(s) + " here now; the rule waits for it (the kernel allows that)"
		}
	}
	if s := f.value(rfMark); s != "" {
		mk, msg := checkFwmark(s)
		if msg != "" {
			c.problems[rfMark] = msg
		}
		x.FwMark = mk
	}
	if s := f.value(rfProto); s != "" {
		p, msg := parseIPProto(s)
		if msg != "" {
			c.problems[rfProto] = msg
		}
		x.IPProto = p
	}
	for _, pf := range []struct {
		i   int
		dst **netcfg.PortRange
	}{{rfSPort, &x.SPort}, {rfDPort, &x.DPort}} {
		if s := f.value(pf.i); s != "" {
			lo, hi, msg := parseRange(s, 65534, "port")
			if msg == "" && lo == 0 {
				msg = "port 0 matches nothing: the kernel takes ports 1-65534"
			}
			if msg != "" {
				c.problems[pf.i] = msg
				continue
			}
			*pf.dst = &netcfg.PortRange{Start: uint16(lo), End: uint16(hi)}
		}
	}
	if (x.SPort != nil || x.DPort != nil) && x.IPProto != 6 && x.IPProto != 17 && x.IPProto != 132 {
		if _, bad := c.problems[rfProto]; !bad {
			c.notes[rfProto] = "ports mean something with tcp, udp or sctp"
		}
	}
	if s := f.value(rfUID); s != "" {
		lo, hi, msg := parseRange(s, 0xffffffff, "uid")
		if msg != "" {
			c.problems[rfUID] = msg
		} else {
			x.UIDRange = &netcfg.UIDRange{Start: uint32(lo), End: uint32(hi)}
		}
	}
	switch s := f.value(rfAction); s {
	case "", "lookup":
	default:
		a, err := netcfg.ParseRuleAction(s)
		if err != nil || !slices.Contains(netcfg.IntentRuleActions, a) {
			c.problems[rfAction] = fmt.Sprintf("%q is not an action here: lookup, blackhole, unreachable or prohibit", s)
		} else {
			x.Action = a
		}
	}
	switch t := f.value(rfTable); {
	case x.Lookup():
		id, msg := m.checkTableRef(t)
		if msg != "" {
			c.problems[rfTable] = msg
		}
		x.Table = netcfg.TableRef{ID: id}
	case t != "":
		c.problems[rfTable] = "a rule with action " + x.Action.String() + " looks up no table: leave table empty"
	}
	if len(c.problems) > 0 {
		return c
	}
	in := m.intent()
	for i := range in.Rules {
		if ruleIntentEqual(&in.Rules[i], &x) && (f.ruleBefore == nil || !ruleIntentEqual(&f.ruleBefore.intent, &x)) {
			c.problems[rfFrom] = "the same rule is already in the intent"
			return c
		}
	}
	if !x.From.IsValid() && !x.To.IsValid() && x.IIF == "" && x.OIF == "" && x.FwMark == nil && x.IPProto == 0 && x.SPort == nil && x.DPort == nil && x.UIDRange == nil {
		c.notes[rfFrom] = "no selector: this rule matches every packet, IPv4 and IPv6"
	}
	c.op = op{kind: opRule, ruleAfter: &x}
	if f.ruleBefore != nil {
		b := f.ruleBefore.intent
		c.op.ruleBefore = &b
		c.op.what = "edit of rule " + ruleIntentText(&b)
		c.meaning = "changes the rule to: " + netcfg.SafeText(ruleIntentText(&x)) + "."
	} else {
		c.op.what = "new rule " + ruleIntentText(&x)
		c.meaning = "adds the rule: " + netcfg.SafeText(ruleIntentText(&x)) + "."
	}
	return c
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
	if x.UIDRange != nil {
		s = append(s, "uidrange", fmt.Sprintf("%d-%d", x.UIDRange.Start, x.UIDRange.End))
	}
	if x.IPProto != 0 {
		s = append(s, "ipproto", ipProtoName(x.IPProto))
	}
	if x.SPort != nil {
		s = append(s, "sport", rangeText(uint64(x.SPort.Start), uint64(x.SPort.End)))
	}
	if x.DPort != nil {
		s = append(s, "dport", rangeText(uint64(x.DPort.Start), uint64(x.DPort.End)))
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
