package netcfg

// Rule priorities: the range nictab allocates from, and how a NIC keeps
// the one it has.

// PriorityRange is where nictab allocates rule priorities.
type PriorityRange struct {
	Min, Max uint32
	// Step leaves room between nictab's rules.
	Step uint32
}

// DefaultPriorities is 1000–1999 in steps of 10.
//
// NOTE: the gaps are deliberate. An administrator can put a rule of their own
// between two of nictab's (say 1005, before eno1's 1010) without renumbering
// anything, as tailscale leaves gaps between 5210/5230/5250/5270. The range
// stays clear of the kernel's 0, 32766 and 32767, of wg-quick (which lets the
// kernel pick, usually 32764/32765), tailscale (5210–5270) and
// nm-cloud-setup (30200–30400).
var DefaultPriorities = PriorityRange{Min: 1000, Max: 1999, Step: 10}

// unownedAt returns a rule nictab does not own at priority p.
func (r *resolver) unownedAt(p uint32) (*Rule, bool) {
	for i := range r.live.Rules {
		if x := &r.live.Rules[i]; x.Priority == p && !x.Owned() {
			return x, true
		}
	}
	return nil, false
}

// nicPriority keeps the priority nictab already uses for the NIC's table
// (so a replan changes nothing), else takes the given one, else allocates.
func (r *resolver) nicPriority(f string, n NICIntent, link *Link, table uint32) (uint32, bool) {
	if n.Priority != 0 {
		if x, taken := r.unownedAt(n.Priority); taken {
			r.fail(fieldErr(f+".priority", "priority %d is taken by a rule nictab does not own: %s", n.Priority, RuleString(x)))
			return 0, false
		}
		r.used[n.Priority] = true
		return n.Priority, true
	}
	for _, x := range r.live.Rules {
		if !x.Owned() || x.Table != table || !ruleSelectsNIC(&x, link) {
			continue
		}
		if _, taken := r.unownedAt(x.Priority); taken || r.used[x.Priority] {
			continue
		}
		if x.Priority >= r.pr.Min && x.Priority <= r.pr.Max {
			r.used[x.Priority] = true
			return x.Priority, true
		}
	}
	return r.allocate(f + ".priority")
}

func (r *resolver) allocate(field string) (uint32, bool) {
	step := max(r.pr.Step, 1)
	for p := r.pr.Min; p <= r.pr.Max; p += step {
		if r.used[p] {
			continue
		}
		if _, taken := r.unownedAt(p); taken {
			continue
		}
		r.used[p] = true
		return p, true
	}
	r.fail(fieldErr(field, "no free rule priority left in %d–%d (step %d); give one with priority:", r.pr.Min, r.pr.Max, step))
	return 0, false
}
