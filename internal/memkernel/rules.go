//go:build linux

package memkernel

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/nictab/nictab/netcfg"
	"golang.org/x/sys/unix"
)

// addRule inserts a rule after every rule of its family whose priority is
// lower or equal, as fib_nl_newrule does, refusing a duplicate (EXCL).
func (k *Kernel) addRule(in *netcfg.Rule) error {
	if err := ruleModelled(in); err != nil {
		return err
	}
	r := cloneRule(in)
	// A zero-length prefix is no selector: the kernel keeps none.
	if r.From.IsValid() && r.From.Bits() == 0 {
		r.From = netip.Prefix{}
	}
	if r.To.IsValid() && r.To.Bits() == 0 {
		r.To = netip.Prefix{}
	}
	list := &k.rules[fam(r.Family)]
	for i := range *list {
		if ruleMatches(&(*list)[i], &r, true) {
			return kerr(unix.EEXIST, "")
		}
	}
	at := 0
	for at < len(*list) && (*list)[at].Priority <= r.Priority {
		at++
	}
	*list = slices.Insert(*list, at, r)
	return nil
}

// delRule removes the first rule that matches every attribute the request
// sends, as fib_nl_delrule does.
func (k *Kernel) delRule(in *netcfg.Rule) error {
	if err := ruleModelled(in); err != nil {
		return err
	}
	list := &k.rules[fam(in.Family)]
	for i := range *list {
		if ruleMatches(&(*list)[i], in, false) {
			*list = slices.Delete(*list, i, i+1)
			return nil
		}
	}
	return kerr(unix.ENOENT, "")
}

func ruleModelled(r *netcfg.Rule) error {
	if r.Family != netcfg.V4 && r.Family != netcfg.V6 {
		return kerr(unix.EAFNOSUPPORT, "")
	}
	if r.DSCP != nil || r.FlowLabel != nil || len(r.Unmodelled) > 0 || r.Action == netcfg.ActionGoto {
		return fmt.Errorf("%w: rules with dscp, flowlabel, goto or raw attributes", errUnmodelled)
	}
	return nil
}

// ruleMatches reports whether the live rule l is the one request q
// means. exact is rule_exists (an add with EXCL): the fields the kernel
// keeps per rule must all be equal. Otherwise it is rule_find (a delete):
// a field the request leaves unset matches anything. In both the
// selectors the address family compares (from, to, tos, realms) match
// anything when the request leaves them unset, and the not flag is not
// compared.
func ruleMatches(l, q *netcfg.Rule, exact bool) bool {
	eq := func(set, same bool) bool { return same || (!exact && !set) }
	portEq := func(a, b *netcfg.PortRange) bool {
		if a == nil || b == nil {
			return a == b
		}
		return *a == *b
	}
	uidEq := func(a, b *netcfg.UIDRange) bool {
		if a == nil || b == nil {
			return a == b
		}
		return *a == *b
	}
	var lm, qm netcfg.FwMark
	if l.Mark != nil {
		lm = *l.Mark
	}
	if q.Mark != nil {
		qm = *q.Mark
	}
	return eq(q.Action != 0, l.Action == q.Action) &&
		eq(q.Table != 0, l.Table == q.Table) &&
		l.Priority == q.Priority &&
		eq(q.IIF != "", l.IIF == q.IIF) &&
		eq(q.OIF != "", l.OIF == q.OIF) &&
		eq(qm.Value != 0, lm.Value == qm.Value) &&
		eq(qm.Mask != 0, lm.Mask == qm.Mask) &&
		eq(q.SuppressIfgroup != -1, l.SuppressIfgroup == q.SuppressIfgroup) &&
		eq(q.SuppressPrefixLen != -1, l.SuppressPrefixLen == q.SuppressPrefixLen) &&
		eq(q.TunID != 0, l.TunID == q.TunID) &&
		eq(q.L3MDev, l.L3MDev == q.L3MDev) &&
		eq(q.UIDRange != nil, uidEq(l.UIDRange, q.UIDRange)) &&
		eq(q.IPProto != 0, l.IPProto == q.IPProto) &&
		eq(q.Proto != 0, l.Proto == q.Proto) &&
		eq(q.SPort != nil, portEq(l.SPort, q.SPort)) &&
		eq(q.DPort != nil, portEq(l.DPort, q.DPort)) &&
		(!q.From.IsValid() || q.From.Bits() == 0 || l.From == q.From) &&
		(!q.To.IsValid() || q.To.Bits() == 0 || l.To == q.To) &&
		(q.Tos == 0 || l.Tos == q.Tos) &&
		(q.Realms == 0 || l.Realms == q.Realms)
}
