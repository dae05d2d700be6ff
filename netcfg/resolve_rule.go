package netcfg

import (
	"fmt"
	"slices"
	"strings"
)

// gotoRule is an explicit goto rule waiting for its target to be checked.
type gotoRule struct {
	field  string
	fams   []Family
	prio   uint32
	target uint32
}

func (r *resolver) rule(i int, x RuleIntent) {
	f := fmt.Sprintf("rules[%d]", i)
	var table uint32
	ok := true
	switch {
	case x.Lookup():
		if table, ok = r.table(func() string { return f + ".table" }, x.Table); !ok {
			return
		}
	case !slices.Contains(IntentRuleActions, x.Action):
		r.fail(fieldErr(f+".action", "action %s cannot be given here (want lookup, goto, nop, blackhole, unreachable or prohibit)", x.Action))
		return
	case x.Table != (TableRef{}):
		r.fail(fieldErr(f+".table", "a rule with action %s looks up no table: leave table out", x.Action))
		return
	}
	if errs := RuleIntentProblems(&x); len(errs) > 0 {
		for _, e := range errs {
			r.fail(fieldErr(f+e.Field, "%s", e.Msg))
		}
		return
	}
	fams, _ := ruleFamilies(&x)
	for _, dev := range []struct{ name, field string }{{x.IIF, ".iif"}, {x.OIF, ".oif"}} {
		// A rule may name a device that does not exist yet (the kernel
		// allows it, and a VPN tunnel comes and goes); only malformed names
		// are refused.
		if msg := IfNameProblem(dev.name); dev.name != "" && msg != "" {
			r.fail(fieldErr(f+dev.field, "\"%s\" is not a valid interface name: %s", dev.name, msg))
			return
		}
	}
	prio := x.Priority
	if prio == 0 {
		if prio, ok = r.allocate(f + ".priority"); !ok {
			return
		}
	} else if y, taken := r.unownedAt(prio); taken {
		r.fail(fieldErr(f+".priority", "priority %d is taken by a rule nictab does not own: %s", prio, RuleString(y)))
		return
	}
	if x.Action == ActionGoto {
		r.gotos = append(r.gotos, gotoRule{field: f + ".goto", fams: fams, prio: prio, target: x.Goto})
	}
	for _, fam := range fams {
		rl := ruleOfIntent(&x, r.newRule(fam, prio, table))
		if slices.ContainsFunc(r.d.Rules, func(o Rule) bool { return RuleEqual(&o, &rl) }) {
			r.fail(fieldErr(f, "the same rule is already planned: %s", RuleString(&rl)))
			return
		}
		r.d.Rules = append(r.d.Rules, rl)
	}
}

// RuleIntentProblems checks an explicit rule on its own, as resolve does
// before it looks at the live state (priorities, goto targets, tables):
// the action's fields, the families and each selector against what the
// kernel keeps (fib_nl2rule, fib4_rule_configure, fib6_rule_configure of
// 6.18). Fields are named from the entry: ".tos", ".goto".
func RuleIntentProblems(x *RuleIntent) []*FieldError {
	var out []*FieldError
	bad := func(field, format string, a ...any) { out = append(out, fieldErr(field, format, a...)) }
	switch {
	case !x.Lookup() && !slices.Contains(IntentRuleActions, x.Action):
		bad(".action", "action %s cannot be given here (want lookup, goto, nop, blackhole, unreachable or prohibit)", x.Action)
	case x.Action == ActionGoto && x.Goto == 0:
		bad(".goto", "a goto rule needs the priority it continues at (goto: 2000)")
	case x.Action != ActionGoto && x.Goto != 0:
		bad(".goto", "goto is only for a rule with action goto")
	}
	fams, err := ruleFamilies(x)
	if err != nil {
		return append(out, err)
	}
	for _, p := range []struct {
		key string
		r   *PortRange
	}{{".sport", x.SPort}, {".dport", x.DPort}} {
		switch {
		case p.r == nil:
		// The kernel's fib_rule_port_range_valid: 0 and 65535 are refused.
		case p.r.Start == 0 || p.r.End == 0xffff || p.r.Start > p.r.End:
			bad(p.key, "port range %d-%d: the kernel takes ports 1-65534, start up to end", p.r.Start, p.r.End)
		case p.r.Mask != 0 && p.r.Start != p.r.End:
			bad(p.key, "a port mask goes with one port (4096/0xf000), not a range")
		case p.r.Mask != 0 && p.r.Start&^p.r.Mask != 0:
			bad(p.key, "port %d has bits outside mask 0x%x", p.r.Start, p.r.Mask)
		}
	}
	switch {
	case x.Tos == 0:
	case x.DSCP != nil:
		bad(".tos", "tos and dscp select the same bits: give one (the kernel refuses both)")
	case x.Tos&3 != 0:
		bad(".tos", "tos 0x%02x has ECN bits (0x03) set, which the kernel refuses; dscp N is tos N<<2", x.Tos)
	case slices.Contains(fams, V4) && x.Tos&^0x1e != 0:
		bad(".tos", "an IPv4 rule's tos is one of 0x04-0x1c in steps of 4 (IPTOS_TOS_MASK); for other DS field values use dscp")
	}
	if d := x.DSCP; d != nil {
		switch {
		case d.Value > 63:
			bad(".dscp", "dscp %d is out of range: 0-63", d.Value)
		case d.Mask == 0 || d.Mask > 63:
			bad(".dscp", "dscp mask 0x%x: want 0x01-0x3f", d.Mask)
		case d.Value&^d.Mask != 0:
			bad(".dscp", "dscp %d has bits outside mask 0x%x", d.Value, d.Mask)
		}
	}
	if l := x.FlowLabel; l != nil {
		switch {
		case l.Value > 0xfffff || l.Mask == 0 || l.Mask > 0xfffff:
			bad(".flowlabel", "flowlabel 0x%x/0x%x: value and mask are 20 bits, the mask not 0", l.Value, l.Mask)
		case l.Value&^l.Mask != 0:
			bad(".flowlabel", "flowlabel 0x%x has bits outside mask 0x%x", l.Value, l.Mask)
		}
	}
	return out
}

// ruleFamilies says which families the entry makes a rule for: that of
// its addresses, IPv6 alone for a flowlabel, else both.
func ruleFamilies(x *RuleIntent) ([]Family, *FieldError) {
	var fams []Family
	switch {
	case x.From.IsValid() && x.To.IsValid() && FamilyOf(x.From.Addr()) != FamilyOf(x.To.Addr()):
		return nil, fieldErr(".to", "from and to are of different families")
	case x.From.IsValid():
		fams = []Family{FamilyOf(x.From.Addr())}
	case x.To.IsValid():
		fams = []Family{FamilyOf(x.To.Addr())}
	default:
		fams = []Family{V4, V6}
	}
	if x.FlowLabel != nil {
		if slices.Equal(fams, []Family{V4}) {
			return nil, fieldErr(".flowlabel", "a flow label is IPv6's: an IPv4 rule has none (the kernel refuses it)")
		}
		fams = []Family{V6}
	}
	return fams, nil
}

// ruleOfIntent fills rl (family, priority, table and owner set) with the
// entry's selectors and action.
func ruleOfIntent(x *RuleIntent, rl Rule) Rule {
	if !x.Lookup() {
		rl.Action = x.Action
		rl.Goto = x.Goto
	}
	rl.Not = x.Not
	rl.From, rl.To = x.From, x.To
	rl.IIF, rl.OIF = x.IIF, x.OIF
	if x.FwMark != nil {
		m := *x.FwMark
		rl.Mark = &m
	}
	rl.IPProto = x.IPProto
	if x.UIDRange != nil {
		u := *x.UIDRange
		rl.UIDRange = &u
	}
	if x.SPort != nil {
		p := *x.SPort
		rl.SPort = &p
	}
	if x.DPort != nil {
		p := *x.DPort
		rl.DPort = &p
	}
	rl.Tos = x.Tos
	if x.DSCP != nil {
		d := *x.DSCP
		rl.DSCP = &d
	}
	if x.FlowLabel != nil && rl.Family == V6 {
		l := *x.FlowLabel
		rl.FlowLabel = &l
	}
	rl.TunID = x.TunID
	return rl
}

// checkGotos refuses a goto whose target is not later than the rule (the
// kernel refuses a backward goto) or is no rule after the plan: an
// unresolved goto passes every packet on as if the rule were not there.
func (r *resolver) checkGotos() {
	for _, g := range r.gotos {
		if g.target <= g.prio {
			r.fail(fieldErr(g.field, "goto %d does not go forward from priority %d (the kernel refuses a backward goto)", g.target, g.prio))
			continue
		}
		for _, fam := range g.fams {
			if !r.ruleAtAfterPlan(fam, g.target) {
				r.fail(fieldErr(g.field, "no %s rule has priority %d, here or in the intent: a goto to nothing matches as if the rule were not there", famWord(fam), g.target))
				break
			}
		}
	}
}

// ruleAtAfterPlan reports whether a rule of family fam will sit at prio
// once the plan is applied: one planned, or a live one nictab keeps
// because it does not own it.
func (r *resolver) ruleAtAfterPlan(fam Family, prio uint32) bool {
	at := func(x *Rule) bool { return x.Family == fam && x.Priority == prio }
	for i := range r.d.Rules {
		if at(&r.d.Rules[i]) {
			return true
		}
	}
	for i := range r.live.Rules {
		if x := &r.live.Rules[i]; !x.Owned() && at(x) {
			return true
		}
	}
	return false
}

func famWord(f Family) string {
	if f == V6 {
		return "IPv6"
	}
	return "IPv4"
}

// IP61Note is a shell comment to follow the `ip` command of a rule that
// iproute2 6.1 cannot write, or "": its ip refuses dscp and flowlabel, and
// takes "sport 4096/0xf000" as "sport 4096", a different rule. nictab
// writes them with its own rtnetlink codec.
func IP61Note(r *Rule) string {
	var refused, dropped []string
	if r.DSCP != nil {
		refused = append(refused, "dscp")
	}
	if r.FlowLabel != nil {
		refused = append(refused, "flowlabel")
	}
	if r.SPort != nil && r.SPort.Mask != 0 {
		dropped = append(dropped, "sport")
	}
	if r.DPort != nil && r.DPort.Mask != 0 {
		dropped = append(dropped, "dport")
	}
	var why []string
	if len(refused) > 0 {
		why = append(why, "refuses "+strings.Join(refused, " and "))
	}
	if len(dropped) > 0 {
		why = append(why, "drops the mask of "+strings.Join(dropped, " and "))
	}
	if len(why) == 0 {
		return ""
	}
	return "  # needs an ip newer than iproute2 6.1, which " + strings.Join(why, " and ") + "; nictab writes it over rtnetlink"
}

// IntentRuleFamilies are the families an explicit rule is made for, or
// nil when it cannot be made (from and to of different families, a flow
// label on IPv4).
func IntentRuleFamilies(x *RuleIntent) []Family {
	fams, err := ruleFamilies(x)
	if err != nil {
		return nil
	}
	return fams
}

// IntentRule is the rule of family f an explicit rule resolves to at
// priority prio, with table the id its table reference means.
func IntentRule(x *RuleIntent, f Family, prio, table uint32) Rule {
	rl := NewRule()
	rl.Family, rl.Priority, rl.Proto = f, prio, ProtoNictab
	if x.Lookup() {
		rl.Table = table
	}
	return ruleOfIntent(x, rl)
}
