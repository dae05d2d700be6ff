package export

import (
	"strings"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// checkAttrsCarried refuses an export whose target cannot carry an
// attribute of one of the snapshot's rules or routes, naming the object and
// the attribute: an export that dropped it would install a wider rule or a
// different route than the snapshot holds.
//
// The ip script carries every attribute nictab models, in ip's own words
// (dscp, flowlabel and port masks need an iproute2 that knows them, which
// 6.1 does not); what nictab keeps only verbatim it cannot write anywhere,
// and iproute2 locks every rto_min it writes, so an unlocked one is
// refused. The
// NixOS and systemd-networkd exports carry none of the newer attributes
// yet.
func checkAttrsCarried(s *format.Snapshot, target string) error {
	for i := range s.Resolved.Rules {
		r := &s.Resolved.Rules[i]
		attrs := r.ExtendedAttrs()
		if target == "ip" {
			attrs = r.Opaque()
		}
		if len(attrs) > 0 {
			return exportErrf("rule \"%s\" has %s, which the %s export cannot carry; nothing was written", netcfg.RuleString(r), strings.Join(attrs, ", "), target)
		}
	}
	for i := range s.Resolved.Routes {
		r := &s.Resolved.Routes[i]
		attrs := r.ExtendedAttrs()
		if target == "ip" {
			attrs = r.Opaque()
			// NOTE: iproute2 locks rto_min whenever it writes it, so a
			// script cannot give back an rto_min that is not locked.
			if r.Metrics.Get(netcfg.RTAXRTOMin) != 0 && r.Metrics.Lock&(1<<netcfg.RTAXRTOMin) == 0 {
				attrs = append(attrs, "rto_min without lock (ip always locks it)")
			}
		}
		if len(attrs) > 0 {
			return exportErrf("route \"%s\" has %s, which the %s export cannot carry; nothing was written", netcfg.RouteString(r), strings.Join(attrs, ", "), target)
		}
	}
	return nil
}
