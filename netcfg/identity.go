package netcfg

import (
	"fmt"
	"net/netip"
)

// NOTE: identity as the kernel sees it. A plan never sends a request the
// kernel could apply to an object nictab does not own, so it must know
// which objects the kernel takes for one another. Each row is tested
// against the kernel (identity_linux_test.go).
//
//	object     | identity                         | kernel behaviour relied on
//	-----------+----------------------------------+---------------------------------------------
//	IPv4 route | table, dst, tos, priority        | add (CREATE|EXCL) fails EEXIST when any route
//	           |                                  | has it; several can share it (prepend,
//	           |                                  | append); REPLACE rewrites the FIRST of them,
//	           |                                  | whoever owns it; delete removes the first
//	           |                                  | that matches every attribute sent (type,
//	           |                                  | scope, prefsrc, protocol, next hops)
//	IPv6 route | table, dst, src, metric          | add (CREATE|EXCL) fails EEXIST; append, and
//	           |                                  | prepend, of a gateway route onto a gateway
//	           |                                  | route merge them into siblings, which the
//	           |                                  | kernel dumps as ONE multipath route with the
//	           |                                  | first sibling's protocol (no owner per hop);
//	           |                                  | delete with a gateway removes that sibling
//	           |                                  | only, and only if its protocol matches
//	rule       | every attribute, priority and    | add fails EEXIST only for an exact duplicate;
//	           | protocol included                | delete removes the first rule matching every
//	           |                                  | attribute sent
//
// Hence the plan (PlanChanges): a wanted route whose identity a foreign
// route shares is a conflict naming it (unless that route is the wanted one
// already); a route of nictab's is replaced only when it is the one route of
// its identity; an IPv6 route dumped with several next hops is changed or
// removed only when wanted exactly as it is, since some hops may be another
// owner's; deletes send every attribute, protocol included.

// RouteIdentity is the kernel's identity of a route in its table.
type RouteIdentity struct {
	Table  uint32
	Family Family
	Dst    netip.Prefix
	// Tos is IPv4's; Src is IPv6's source prefix (RTA_SRC).
	Tos    uint8
	Src    netip.Prefix
	Metric uint32
}

// IdentityOf returns r's identity. Attributes are read through small
// accessors so that new route fields join the identity in one place.
func IdentityOf(r *Route) RouteIdentity {
	id := RouteIdentity{Table: r.Table, Family: r.Family(), Dst: r.Dst, Metric: r.Metric}
	if id.Family == V4 {
		id.Tos = r.Tos
	} else {
		id.Src = routeSrcPrefix(r)
	}
	return id
}

// routeSrcPrefix is the IPv6 source prefix of a route (`from` in `ip -6
// route`, RTA_SRC).
func routeSrcPrefix(r *Route) netip.Prefix { return r.From }

// multiHop reports whether a route is dumped with several next hops.
func multiHop(r *Route) bool { return len(r.MultiPath) > 1 }

// identityConflict says why a wanted route w cannot be sent, given the
// live routes of its identity (owned: how many nictab owns, foreign: the
// first one it does not, partner: the one it would replace), or "" when
// it can.
func identityConflict(w, partner, foreign *Route, owned int) string {
	switch {
	case partner != nil && partner.Owned() && RouteEqual(partner, w):
		return "" // nothing to send
	case foreign != nil:
		return fmt.Sprintf("table %d already has %q, which nictab does not own, with the same identity as %q (%s): the kernel would refuse the route, or apply the change to that one; remove or adopt that route first",
			w.Table, RouteString(foreign), RouteString(w), identityWords(w))
	case owned > 1:
		return fmt.Sprintf("table %d holds %d routes of nictab's with the identity of %q (%s): a replace would rewrite whichever comes first; remove the extra ones by hand",
			w.Table, owned, RouteString(w), identityWords(w))
	case partner != nil && partner.Family() == V6 && multiHop(partner):
		return fmt.Sprintf("table %d has %q as one multipath route: the kernel merges IPv6 routes of the same identity (%s) into siblings and does not say whose each next hop is, so nictab will not change it; remove the next hops that are not nictab's, or adopt them",
			w.Table, RouteString(partner), identityWords(w))
	}
	return ""
}

// deleteConflict says why a live route of nictab's that is no longer
// wanted is not deleted, or "". An IPv6 route dumped with several next hops
// may hold another owner's siblings: the kernel would refuse the delete of
// those (their protocol differs) after removing nictab's, and an undo could
// not put nictab's back beside them.
func deleteConflict(l *Route) string {
	if l.Family() == V6 && multiHop(l) {
		return fmt.Sprintf("table %d has %q as one multipath route: the kernel merges IPv6 routes of the same identity into siblings and does not say whose each next hop is, so nictab will not delete it; delete its next hops by hand",
			l.Table, RouteString(l))
	}
	return ""
}

func identityWords(r *Route) string {
	if r.Family() == V4 {
		return "table, destination, tos and priority"
	}
	return "table, destination, source and metric"
}
