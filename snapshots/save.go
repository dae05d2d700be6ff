package snapshots

import (
	"fmt"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// SaveCurrent records what nictab owns now as a snapshot without changing
// anything.
func (e *Engine) SaveCurrent(comment string) (*format.Snapshot, error) {
	snap, _, err := e.saveCurrent(comment, false)
	return snap, err
}

// AdoptUnrecorded records, as a snapshot of kind adopt, the rules and
// routes of nictab's protocol that no record names ("proto nictab, not in
// history"), so that from now on nictab manages them. It changes nothing
// in the kernel; n is how many it took over (0: no snapshot is saved).
func (e *Engine) AdoptUnrecorded(comment string) (snap *format.Snapshot, n int, err error) {
	return e.saveCurrent(comment, true)
}

func (e *Engine) saveCurrent(comment string, adopt bool) (*format.Snapshot, int, error) {
	lock, err := e.acquire()
	if err != nil {
		return nil, 0, err
	}
	defer lock.Release()
	if _, err := e.recoverLocked(); err != nil {
		return nil, 0, fmt.Errorf("an earlier apply was interrupted and could not be recovered: %w", err)
	}
	k, err := e.cfg.Open()
	if err != nil {
		return nil, 0, err
	}
	defer k.Close()
	live, err := netcfg.Detect(k, e.names(), netcfg.DetectOptions{Owned: true})
	if err != nil {
		return nil, 0, err
	}
	p := &Proposal{Kind: "save", Comment: comment}
	// Saving records what nictab owns; what it has no record of stays
	// unrecorded unless it is being adopted.
	un, err := e.keepUnrecorded(live, &netcfg.Desired{})
	if err != nil {
		return nil, 0, err
	}
	n := len(un.rules) + len(un.routes)
	if adopt {
		if n == 0 {
			return nil, 0, nil
		}
		p.Kind = "adopt"
	} else {
		p.unrecorded = un
	}
	if latest, err := e.store.Latest(); err == nil && latest != nil {
		p.Intent = latest.Intent
	}
	snap := e.snapshotOf(p, live, e.store.NewID())
	if err := e.store.Save(snap); err != nil {
		return nil, 0, err
	}
	return snap, n, nil
}

// ProposeAdoption plans taking the rules and routes configured by hand
// into nictab's ownership (see netcfg.Adoptable), so later plans may
// manage them. Adoption is never implicit: only this asks for it.
func (e *Engine) ProposeAdoption(comment string) (*Proposal, error) {
	k, err := e.cfg.Open()
	if err != nil {
		return nil, err
	}
	defer k.Close()
	live, err := netcfg.Detect(k, e.names(), netcfg.DetectOptions{RuleTables: true, Owned: true})
	if err != nil {
		return nil, err
	}
	rules, routes := netcfg.Adoptable(live)
	p := &Proposal{Live: live, Plan: netcfg.AdoptPlan(live, rules, routes), Kind: "adopt", Comment: comment}
	if latest, err := e.store.Latest(); err == nil && latest != nil {
		p.Intent = latest.Intent
	}
	p.Intent = adoptIntent(p.Intent, rules, routes)
	return p, nil
}

// adoptIntent adds the adopted rules and routes that an intent can say as
// explicit entries, so an edited copy of the snapshot keeps them. The rest
// lives on in the snapshot's resolved section.
func adoptIntent(in netcfg.Intent, rules []netcfg.Rule, routes []netcfg.Route) netcfg.Intent {
	out := in
	out.Rules = append([]netcfg.RuleIntent(nil), in.Rules...)
	out.Routes = append([]netcfg.RouteIntent(nil), in.Routes...)
	for i := range rules {
		if ri, ok := netcfg.RuleIntentOf(&rules[i]); ok {
			out.Rules = append(out.Rules, ri)
		}
	}
	for i := range routes {
		if ri, ok := netcfg.RouteIntentOf(&routes[i]); ok {
			out.Routes = append(out.Routes, ri)
		}
	}
	return out
}
