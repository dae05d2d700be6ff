package snapshots

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nictab/nictab/netcfg"
)

// ProposeAdopting plans an intent together with taking some live rules
// and routes of someone else's into nictab's ownership, as one change:
// each adopted object is replaced in place by the same one with nictab's
// protocol (moving no packet), and the intent is planned against the
// state as it is once they are nictab's. The intent should name each
// adopted object as an explicit entry (netcfg.RuleIntentOf), or the plan
// deletes it again; one it cannot name is refused.
func (e *Engine) ProposeAdopting(in netcfg.Intent, comment string, adopt []netcfg.Object) (*Proposal, error) {
	if len(adopt) == 0 {
		return e.Propose(in, comment)
	}
	k, err := e.cfg.Open()
	if err != nil {
		return nil, err
	}
	defer k.Close()
	names := e.names()
	live, err := netcfg.Detect(k, names, netcfg.DetectOptions{Owned: true, RuleTables: true})
	if err != nil {
		return nil, err
	}
	owned, changes, err := adoptIn(live, adopt)
	if err != nil {
		return nil, err
	}
	d, err := netcfg.Resolve(in, owned, e.cfg.Priorities)
	if err != nil {
		return nil, err
	}
	tables := slices.Clone(d.Tables)
	for _, c := range changes {
		if c.After.Route != nil {
			tables = append(tables, c.After.Route.Table)
		}
	}
	if live, err = netcfg.Detect(k, names, netcfg.DetectOptions{Tables: tables, Owned: true, RuleTables: true}); err != nil {
		return nil, err
	}
	if owned, changes, err = adoptIn(live, adopt); err != nil {
		return nil, err
	}
	if d, err = netcfg.Resolve(in, owned, e.cfg.Priorities); err != nil {
		return nil, err
	}
	// What no record names stays as it is, judged on the kernel as it is:
	// the objects being adopted are not nictab's yet.
	un, err := e.keepUnrecorded(live, &d)
	if err != nil {
		return nil, err
	}
	plan := planWith(owned, nil, d, un)
	plan.Prior = netcfg.PriorOf(netcfg.Fingerprint(live))
	plan.Tables = slices.Clone(live.Complete)
	plan.Changes = append(changes, plan.Changes...)
	return &Proposal{Live: live, Desired: d, Plan: plan, Intent: in, Kind: "apply", Comment: comment, unrecorded: un}, nil
}

// adoptIn finds each object to adopt in live and returns live as it is
// once they are nictab's, and the changes that make them so.
func adoptIn(live netcfg.State, adopt []netcfg.Object) (netcfg.State, []netcfg.Change, error) {
	owned := live
	owned.Rules = slices.Clone(live.Rules)
	owned.Routes = slices.Clone(live.Routes)
	var changes []netcfg.Change
	var errs []error
	for _, o := range adopt {
		switch {
		case o.Rule != nil:
			i := slices.IndexFunc(owned.Rules, func(r netcfg.Rule) bool { return netcfg.RuleEqual(&r, o.Rule) })
			if i < 0 {
				errs = append(errs, fmt.Errorf("rule \"%s\" to adopt is no longer there", netcfg.RuleString(o.Rule)))
				continue
			}
			r := &owned.Rules[i]
			if msg := adoptProblem(r.Owned(), r.Proto == netcfg.ProtoKernel, r.Opaque(), fmt.Sprintf("rule \"%s\"", netcfg.RuleString(r))); msg != "" {
				errs = append(errs, errors.New(msg))
				continue
			}
			changes = append(changes, netcfg.AdoptChange(netcfg.Object{Rule: r}))
			r.Proto = netcfg.ProtoNictab
		case o.Route != nil:
			i := slices.IndexFunc(owned.Routes, func(r netcfg.Route) bool { return netcfg.RouteEqual(&r, o.Route) })
			if i < 0 {
				errs = append(errs, fmt.Errorf("route \"%s\" to adopt is no longer there", netcfg.RouteString(o.Route)))
				continue
			}
			r := &owned.Routes[i]
			if msg := adoptProblem(r.Owned(), r.Proto == netcfg.ProtoKernel, r.Opaque(), fmt.Sprintf("route \"%s\"", netcfg.RouteString(r))); msg != "" {
				errs = append(errs, errors.New(msg))
				continue
			}
			changes = append(changes, netcfg.AdoptChange(netcfg.Object{Route: r}))
			r.Proto = netcfg.ProtoNictab
		}
	}
	if len(errs) > 0 {
		return netcfg.State{}, nil, fmt.Errorf("nothing was changed: %w", errors.Join(errs...))
	}
	return owned, changes, nil
}

func adoptProblem[T any](owned, kernel bool, opaque []T, what string) string {
	switch {
	case owned:
		return what + " is nictab's already"
	case kernel:
		return what + " is the kernel's own and is never adopted"
	case len(opaque) > 0:
		return what + " holds attributes nictab cannot reproduce, so it is never adopted"
	}
	return ""
}
