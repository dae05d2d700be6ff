package format

import (
	"net/netip"

	"github.com/nictab/nictab/netcfg"
)

// Marshal reads back what it wrote to be sure it loads. For a snapshot of
// 100k routes that was the whole 12 MB file parsed again, more than
// writing it; most of it is two lists of routes of one simple form, which
// are known to load without being read.
//
// A list is known to load when every route in it is of the form the fast
// decoders (file_fast.go) take, with every value one they take as it is
// written: an IPv4 destination (masked, in the intent), IPv4 gateway and
// source, a device name the kernel accepts that is written plain, a table
// by valid id or name, no other field set; and, in the intent, no two
// routes under one kernel key. Each such line is then read back as
// exactly the fields written from it (TestWrittenListsLoadAsWritten holds
// the rule to Parse), and the lines of a list Marshal writes are a block
// list findRegions finds. The check then parses the file with those
// lists' lines left out, strictly and whole, as Load reads the rest.

// span is a range of the bytes Marshal writes.
type span struct{ start, end int }

// simpleName reports whether s is written plain and read back as the same
// text by the line reader, as a device or table name.
func simpleName(s string, known map[string]bool) bool {
	ok, seen := known[s]
	if !seen {
		ok = readerPlain(s)
		if len(known) < 4096 {
			known[s] = ok
		}
	}
	return ok
}

// simpleHost is hostAddr's test of an IPv4 gateway or source.
func simpleHost(a netip.Addr) bool {
	return !a.IsValid() || a.Is4() && !a.IsUnspecified() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// simpleDev reports whether a device is left out or one ifName takes.
func simpleDev(dev string, known map[string]bool) bool {
	return dev == "" || simpleName(dev, known) && netcfg.IfNameProblem(dev) == ""
}

// simpleRoutes reports whether every route of the intent is of the simple
// form and no two share a kernel key.
func simpleRoutes(rs []netcfg.RouteIntent) bool {
	known := map[string]bool{}
	packed := newPackedIndex(len(rs))
	// NOTE: mapped ahead rather than a page at a time as it fills:
	// Marshal's check of 100k routes fills it on the other core while an
	// apply's kernel writes run, which fresh pages taken one by one there
	// slow (see marshalText). In A/B (15 pairs) kernel writes went 119.2
	// -> 116.5 ms, the apply 206 -> 203.
	packed.mapAll()
	named := map[routeKey]struct{}{}
	for i := range rs {
		r := &rs[i]
		if r.Scope != nil || r.Type != netcfg.RouteUnspec || r.MTU != 0 || r.AdvMSS != 0 ||
			!r.To.IsValid() || !r.To.Addr().Is4() || r.To != r.To.Masked() ||
			!simpleHost(r.Via) || !simpleHost(r.Src) || !simpleDev(r.Dev, known) ||
			!r.Via.IsValid() && r.Dev == "" {
			return false
		}
		if t := r.Table; t.Name == "" {
			if netcfg.ReservedTable(t.ID) {
				return false
			}
		} else if !simpleName(t.Name, known) || isNumber(t.Name) || !netcfg.ValidTableName(t.Name) {
			return false
		} else if _, builtin := builtinTableIDs[t.Name]; builtin {
			return false
		}
		k := routeKey{r.Table.Name, r.Table.ID, r.To, r.Metric}
		if p, ok := packKey(&k); ok {
			if _, dup := packed.claim(p, routeTaken{}); dup {
				return false
			}
		} else {
			if _, dup := named[k]; dup {
				return false
			}
			named[k] = struct{}{}
		}
	}
	return true
}

// simpleSavedRoutes reports whether every route of a resolved section is
// of the simple form.
func simpleSavedRoutes(rs []netcfg.Route) bool {
	known := map[string]bool{}
	for i := range rs {
		r := &rs[i]
		if len(r.MultiPath) > 0 || len(r.Unmodelled) > 0 || r.Encap != nil || r.From.IsValid() || r.NHID != 0 ||
			r.Realms != 0 || r.Expires != 0 || r.Pref != netcfg.PrefMedium || !r.Metrics.IsZero() ||
			!r.Dst.IsValid() || !r.Dst.Addr().Is4() ||
			r.Gw.IsValid() && !r.Gw.Is4() || r.Src.IsValid() && !r.Src.Is4() || !simpleDev(r.Dev, known) {
			return false
		}
		if r.Type != netcfg.RouteUnicast {
			name := r.Type.String()
			if t, err := netcfg.ParseRouteType(name); err != nil || t != r.Type || !simpleName(name, known) {
				return false
			}
		}
		if r.Scope != netcfg.ScopeUniverse {
			name := r.Scope.String()
			if sc, err := netcfg.ParseScope(name); err != nil || sc != r.Scope || !simpleName(name, known) {
				return false
			}
		}
	}
	return true
}

// withoutSpans is data[:end] without the lines in skip (in order), with a
// checksum line of its own, as Marshal would have written the file had
// those lists been empty.
func withoutSpans(data []byte, end int, skip []span) []byte {
	n := end
	for _, s := range skip {
		n -= s.end - s.start
	}
	out := make([]byte, 0, n+80)
	at := 0
	for _, s := range skip {
		out = append(out, data[at:s.start]...)
		at = s.end
	}
	out = append(out, data[at:end]...)
	sum := Checksum(out)
	out = append(out, "checksum: "...)
	out = append(out, sum...)
	return append(out, '\n')
}
