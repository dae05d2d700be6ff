package snapshots

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"net/netip"
	"slices"
	"strings"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// NOTE: a rollback, and any plan where nictab already owns routes, asks
// whether each of them is in a record of nictab's (unrecorded.go), and
// the newest snapshot is where they nearly always are: reading its
// resolved section cost 0.4 s for 100k routes. The index entry of each
// snapshot (made from the snapshot in memory, or from the file read in
// full and checksummed) holds the digest of the identities it records,
// and an entry is used only for the file it was made from (inode, size,
// times) and from an index whose own checksum holds. When the live
// state's owned identities have the same digest, every one of them is in
// the newest snapshot's record, and nothing else need be read; any other
// case reads the records as before.

// newRecordsHash is the sha256 of a records digest with the rules' part
// written: their keys sorted, duplicates once, each after its length, and
// then 0xff; the routes' part follows.
func newRecordsHash(rules []netcfg.Rule, owned bool) hash.Hash {
	rk := make([]string, 0, len(rules))
	for i := range rules {
		if !owned || rules[i].Owned() {
			rk = append(rk, netcfg.RuleKey(&rules[i]))
		}
	}
	slices.Sort(rk)
	rk = slices.Compact(rk)
	h := sha256.New()
	var b []byte
	for _, k := range rk {
		b = binary.AppendUvarint(b[:0], uint64(len(k)))
		h.Write(append(b, k...))
	}
	h.Write([]byte{0xff})
	return h
}

// recordsDigest is the sha256 of the set of identities of rules and
// routes, whatever their order: their keys sorted, duplicates once.
func recordsDigest(rules []netcfg.Rule, routes []netcfg.Route, owned bool) string {
	h := newRecordsHash(rules, owned)
	if !writeKeysRising(h, routes, owned) {
		h = newRecordsHash(rules, owned)
		keys := make([]netcfg.RouteKey, 0, len(routes))
		for i := range routes {
			if !owned || routes[i].Owned() {
				keys = append(keys, routes[i].Key())
			}
		}
		cmp := func(a, b netcfg.RouteKey) int { return a.Compare(b) }
		if !slices.IsSortedFunc(keys, cmp) {
			slices.SortFunc(keys, cmp)
		}
		var b []byte
		for _, k := range slices.Compact(keys) {
			b = writeRouteKey(h, b, &k)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// NOTE: the routes a digest is made of are nearly always in key order
// already (a plan's target, a table as the kernel dumps it), and then
// their keys, each written once, are the sorted set: made into a list
// first, 100k of them were 7.6 MB of fresh memory on the way.
//
// writeKeysRising writes the keys of routes (only nictab's when owned)
// to h as recordsDigest does, and reports whether they rose strictly;
// when they do not, what it wrote is not that digest's.
func writeKeysRising(h hash.Hash, routes []netcfg.Route, owned bool) bool {
	var (
		b    []byte
		prev netcfg.RouteKey
		some bool
	)
	for i := range routes {
		if owned && !routes[i].Owned() {
			continue
		}
		k := routes[i].Key()
		if some && prev.Compare(k) >= 0 {
			return false
		}
		b = writeRouteKey(h, b, &k)
		prev, some = k, true
	}
	return true
}

// writeRouteKey writes a route key to h in its fixed-length encoding,
// with b as room, and returns the room for the next one.
func writeRouteKey(h hash.Hash, b []byte, k *netcfg.RouteKey) []byte {
	b = binary.BigEndian.AppendUint32(b[:0], k.Table)
	b = appendPrefix(b, k.Dst)
	b = append(b, k.Tos)
	b = binary.BigEndian.AppendUint32(b, k.Metric)
	b = appendPrefix(b, k.From)
	h.Write(b)
	return b
}

// appendPrefix appends a fixed-length encoding of p: 4, 6 or 0 for an
// invalid prefix, its address in 16 bytes, its length.
func appendPrefix(b []byte, p netip.Prefix) []byte {
	fam := byte(0)
	switch {
	case p.IsValid() && p.Addr().Is4():
		fam = 4
	case p.IsValid():
		fam = 6
	}
	a := p.Addr().As16()
	if !p.IsValid() {
		a = [16]byte{}
	}
	return append(append(append(b, fam), a[:]...), byte(p.Bits()))
}

// snapshotRecords is the digest of what a snapshot records, "" for one
// that records nothing (no resolved section).
func snapshotRecords(s *format.Snapshot) string {
	if s == nil || s.Resolved == nil {
		return ""
	}
	if r := s.Records(); r != "" {
		return r
	}
	return recordsDigest(s.Resolved.Rules, s.Resolved.Routes, false)
}

// latestRecordsAll reports whether the newest intact snapshot, as its
// index entry vouches, records every rule and route nictab owns in live,
// and nothing else.
func (s *Store) latestRecordsAll(live *netcfg.State) bool {
	all, err := s.Listing()
	if err != nil {
		return false
	}
	for i := range all {
		if all[i].Err != nil {
			continue
		}
		d := all[i].indexed.Records
		return strings.HasPrefix(d, "sha256:") && d == ownedRecordsDigest(live)
	}
	return false
}

// recordedRoutes is how many routes a snapshot records.
func recordedRoutes(s *format.Snapshot) int {
	if s == nil || s.Resolved == nil {
		return 0
	}
	return len(s.Resolved.Routes)
}

// latestRoutes is how many routes the newest intact snapshot records, as
// its index entry says; 0 when no entry says.
//
// NOTE: a guess for the size of the read a plan makes of nictab's
// tables, which after an apply hold about those routes: a slice grown by
// doubling to a million routes held 1.6 times their size (390 MB for 248
// MB of routes), and the old array beside the new one as it grew.
func (s *Store) latestRoutes() int {
	all, err := s.Listing()
	if err != nil {
		return 0
	}
	for i := range all {
		if all[i].Err == nil {
			return all[i].indexed.Routes
		}
	}
	return 0
}
