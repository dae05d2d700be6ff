package ui

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// The rule form: every selector an explicit rule of the snapshot file can
// say, each checked as it is typed, with the same checks resolve makes
// (netcfg.RuleIntentProblems) so that the preview finds nothing new.

// The rule form's fields after the classic ones, in order.
const (
	rfGoto = rfUID + 1 + iota
	rfNot
	rfTos
	rfDSCP
	rfFlow
	rfTunID
)

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
	num := func(v uint64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatUint(v, 10)
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
	f.addField(m.st, "Priority", "e.g. 1100", "empty: nictab picks one in 1000-1999", 5, num(uint64(x.Priority)))
	f.addField(m.st, "From", "e.g. 10.8.0.0/24", "empty: any source", 43, pfxText(x.From))
	f.addField(m.st, "To", "e.g. 192.0.2.0/24", "empty: any destination", 43, pfxText(x.To))
	f.addField(m.st, "iif", "e.g. wg0", "empty: any incoming NIC", 15, x.IIF)
	f.addField(m.st, "oif", "e.g. eno1", "empty: any outgoing NIC", 15, x.OIF)
	f.addField(m.st, "fwmark", "e.g. 0x13 or 0x13/0xff", "empty: any mark", 23, mark)
	f.addField(m.st, "Table", "id or name, e.g. 13", "", 64, table)
	f.addField(m.st, "Action", "lookup", "empty: lookup the table; or goto, nop, blackhole, unreachable, prohibit", 11, action)
	proto := ""
	if x.IPProto != 0 {
		proto = strconv.Itoa(int(x.IPProto))
	}
	uid := ""
	if x.UIDRange != nil {
		uid = rangeText(uint64(x.UIDRange.Start), uint64(x.UIDRange.End))
	}
	f.addField(m.st, "ipproto", "e.g. tcp or 6", "empty: any protocol", 6, proto)
	f.addField(m.st, "sport", "e.g. 1024-65535", "empty: any source port; 4096/0xf000 for a port under a mask", 11, portSel(x.SPort))
	f.addField(m.st, "dport", "e.g. 443", "empty: any destination port; 4096/0xf000 for a port under a mask", 11, portSel(x.DPort))
	f.addField(m.st, "uidrange", "e.g. 1000-1999", "empty: any user", 21, uid)
	f.addField(m.st, "goto", "e.g. 2000", "the priority a goto rule continues at", 10, num(uint64(x.Goto)))
	not := ""
	if x.Not {
		not = "yes"
	}
	f.addField(m.st, "not", "no", "yes inverts the whole selector", 3, not)
	tos := ""
	if x.Tos != 0 {
		tos = fmt.Sprintf("0x%02x", x.Tos)
	}
	f.addField(m.st, "tos", "e.g. 0x10", "empty: any TOS (the whole DS byte)", 4, tos)
	dscp, flow := "", ""
	if x.DSCP != nil {
		dscp = x.DSCP.String()
	}
	if x.FlowLabel != nil {
		flow = x.FlowLabel.String()
	}
	f.addField(m.st, "dscp", "e.g. 46 or 8/0x38", "empty: any DSCP", 9, dscp)
	f.addField(m.st, "flowlabel", "e.g. 0x100/0xff00", "empty: any flow label (IPv6 only)", 17, flow)
	f.addField(m.st, "tun_id", "e.g. 42", "empty: any tunnel id", 20, num(x.TunID))
	if before == nil {
		f.focus = rfFrom
	}
	f.focusInput()
	m.form = f
	m.formFrom, m.screen = m.screen, screenForm
}

func portSel(p *netcfg.PortRange) string {
	if p == nil {
		return ""
	}
	return portSelText(p)
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
			p, msg := parsePortSel(s)
			if msg != "" {
				c.problems[pf.i] = msg
				continue
			}
			*pf.dst = p
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
	m.checkRuleExtras(f, &c, &x)
	switch s := f.value(rfAction); s {
	case "", "lookup":
	default:
		a, err := netcfg.ParseRuleAction(s)
		if err != nil || !slices.Contains(netcfg.IntentRuleActions, a) {
			c.problems[rfAction] = fmt.Sprintf("%q is not an action here: lookup, goto, nop, blackhole, unreachable or prohibit", s)
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
	m.checkRuleGoto(f, &c, &x)
	// The checks resolve makes of the entry alone, on the fields that
	// read well.
	for _, e := range netcfg.RuleIntentProblems(&x) {
		i, ok := ruleFormField[e.Field]
		if _, bad := c.problems[i]; ok && !bad {
			c.problems[i] = e.Msg
		}
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
	if !x.From.IsValid() && !x.To.IsValid() && x.IIF == "" && x.OIF == "" && x.FwMark == nil && x.IPProto == 0 && x.SPort == nil && x.DPort == nil && x.UIDRange == nil &&
		x.Tos == 0 && x.DSCP == nil && x.FlowLabel == nil && x.TunID == 0 {
		c.notes[rfFrom] = "no selector: this rule matches every packet, IPv4 and IPv6"
	}
	if x.FlowLabel != nil && !x.From.IsValid() && !x.To.IsValid() {
		c.notes[rfFlow] = "a flow label makes this an IPv6 rule only"
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

// ruleFormField is the form field each of RuleIntentProblems' fields is.
var ruleFormField = map[string]int{
	".to": rfTo, ".action": rfAction, ".goto": rfGoto, ".sport": rfSPort, ".dport": rfDPort,
	".tos": rfTos, ".dscp": rfDSCP, ".flowlabel": rfFlow,
}

// checkRuleExtras reads not, tos, dscp, flowlabel and tun_id.
func (m *Model) checkRuleExtras(f *editForm, c *formCheck, x *netcfg.RuleIntent) {
	switch s := strings.ToLower(f.value(rfNot)); s {
	case "", "no", "n":
	case "yes", "y":
		x.Not = true
	default:
		c.problems[rfNot] = fmt.Sprintf("%q: yes inverts the selector, no (or empty) leaves it", netcfg.SafeText(s))
	}
	if s := f.value(rfTos); s != "" {
		v, err := strconv.ParseUint(s, 0, 8)
		switch {
		case err != nil:
			c.problems[rfTos] = fmt.Sprintf("%q is not a TOS: a byte such as 0x10", netcfg.SafeText(s))
		case v == 0:
			c.problems[rfTos] = "tos 0 matches every packet: leave tos empty"
		default:
			x.Tos = uint8(v)
		}
	}
	if s := f.value(rfDSCP); s != "" {
		v, mk, msg := parseValueMask(s, 63, 0x3f, "dscp", "46 or 8/0x38")
		if msg != "" {
			c.problems[rfDSCP] = msg
		} else {
			x.DSCP = &netcfg.DSCPMatch{Value: uint8(v), Mask: uint8(mk)}
		}
	}
	if s := f.value(rfFlow); s != "" {
		v, mk, msg := parseValueMask(s, 0xfffff, 0xfffff, "flow label", "0x100 or 0x100/0xff00")
		if msg != "" {
			c.problems[rfFlow] = msg
		} else {
			x.FlowLabel = &netcfg.FlowLabel{Value: uint32(v), Mask: uint32(mk)}
		}
	}
	if s := f.value(rfTunID); s != "" {
		v, err := strconv.ParseUint(s, 0, 64)
		switch {
		case err != nil:
			c.problems[rfTunID] = fmt.Sprintf("%q is not a tunnel id: 1-18446744073709551615", netcfg.SafeText(s))
		case v == 0:
			c.problems[rfTunID] = "tun_id 0 is no selector: leave it empty"
		default:
			x.TunID = v
		}
	}
}

// checkRuleGoto reads the goto target of a goto rule: later than the rule
// and a rule that will be there.
func (m *Model) checkRuleGoto(f *editForm, c *formCheck, x *netcfg.RuleIntent) {
	s := f.value(rfGoto)
	if s == "" {
		return
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 0 {
		c.problems[rfGoto] = fmt.Sprintf("%q is not a rule priority: 1-4294967295", netcfg.SafeText(s))
		return
	}
	x.Goto = uint32(v)
	if x.Action != netcfg.ActionGoto {
		return // RuleIntentProblems says so
	}
	switch {
	case x.Priority != 0 && x.Goto <= x.Priority:
		c.problems[rfGoto] = fmt.Sprintf("goto %d does not go forward from priority %d (the kernel refuses a backward goto)", x.Goto, x.Priority)
	case !m.ruleAt(x.Goto, f.ruleBefore):
		c.problems[rfGoto] = fmt.Sprintf("no rule has priority %d, here or in the pending edits: a goto to nothing matches as if the rule were not there", x.Goto)
	case x.Priority == 0:
		c.notes[rfGoto] = fmt.Sprintf("nictab picks this rule's priority from 1000 up: it must come out below %d", x.Goto)
	}
}

// ruleAt reports whether a rule will sit at prio: one of someone else's,
// an entry of the pending intent (other than the one edited) or a
// priority a NIC's assignment gives.
func (m *Model) ruleAt(prio uint32, editing *ruleEntry) bool {
	for i := range m.state.Rules {
		r := &m.state.Rules[i]
		if r.Priority != prio {
			continue
		}
		if !r.Owned() {
			return true
		}
		// One of nictab's stays when the pending intent still makes it.
		if entry, nic := m.ruleSource(r); nic != "" || entry != nil && (editing == nil || !ruleIntentEqual(entry, &editing.intent)) {
			return true
		}
	}
	in := m.intent()
	for i := range in.Rules {
		if x := &in.Rules[i]; x.Priority == prio && (editing == nil || !ruleIntentEqual(x, &editing.intent)) {
			return true
		}
	}
	return slices.ContainsFunc(in.NICs, func(n netcfg.NICIntent) bool { return n.Priority == prio })
}

// parseValueMask reads V or V/MASK (decimal or 0x), each at most hi; no
// mask is full.
func parseValueMask(s string, hi, full uint64, what, example string) (uint64, uint64, string) {
	val, mask, hasMask := strings.Cut(s, "/")
	v, err := strconv.ParseUint(strings.TrimSpace(val), 0, 64)
	if err != nil || v > hi {
		return 0, 0, fmt.Sprintf("%q is not a %s: 0-%d, optionally /mask (%s)", netcfg.SafeText(s), what, hi, example)
	}
	m := full
	if hasMask {
		m, err = strconv.ParseUint(strings.TrimSpace(mask), 0, 64)
		if err != nil || m == 0 || m > hi {
			return 0, 0, fmt.Sprintf("%q: the mask after / is 0x1-0x%x", netcfg.SafeText(s), hi)
		}
	}
	if v&^m != 0 {
		return 0, 0, fmt.Sprintf("%s %d has bits outside mask 0x%x", what, v, m)
	}
	return v, m, ""
}

// parsePortSel reads a port selector: N, START-END, or N/MASK.
func parsePortSel(s string) (*netcfg.PortRange, string) {
	if strings.Contains(s, "/") {
		v, mk, msg := parseValueMask(s, 65534, 0xffff, "port", "4096/0xf000")
		if msg == "" && v == 0 {
			msg = "port 0 matches nothing: the kernel takes ports 1-65534"
		}
		if msg != "" {
			return nil, msg
		}
		p := &netcfg.PortRange{Start: uint16(v), End: uint16(v)}
		if mk != 0xffff {
			p.Mask = uint16(mk)
		}
		return p, ""
	}
	lo, hi, msg := parseRange(s, 65534, "port")
	if msg == "" && lo == 0 {
		msg = "port 0 matches nothing: the kernel takes ports 1-65534"
	}
	if msg != "" {
		return nil, msg
	}
	return &netcfg.PortRange{Start: uint16(lo), End: uint16(hi)}, ""
}
