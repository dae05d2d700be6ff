package format

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestListInPartsReadsAsLineByLine holds a long list read in parts at once to
// the same list read line by line (the oracle): random files of thousands
// of routes, in the intent and in the resolved section, some good and some
// with bad entries (unknown keys, bad values, duplicates, clashes, broken
// YAML, entries the fast decoders leave) in the first half, the second, or
// both, must decode to the same snapshot, at the same positions, or fail
// with the same message.
func TestListInPartsReadsAsLineByLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 2))
	for n := range 24 {
		for _, section := range []string{"routes", "resolved"} {
			where := []string{"none", "first", "second", "both"}[n%4]
			// Half the files are all entries the fast decoders take,
			// but for the bad ones.
			plain := n%8 >= 4
			data := randomLongList(rng, section, where, plain)
			name := fmt.Sprintf("%s-%s-%v-%d", section, where, plain, n)
			if !splitsUnder(data, splitMin) {
				t.Fatalf("%s: no list long enough to be read in parts", name)
			}
			for _, lim := range []shapeLimits{inputLimits, storedLimits} {
				compareSplit(t, name, data, lim)
			}
		}
	}
}

// splitsUnder reports whether data has a list region splitScan would
// read in parts (a long one with an entry after its middle).
func splitsUnder(data []byte, min int) bool {
	for _, r := range findRegions(data) {
		if _, ok := r.entryFrom(data, (r.start+r.end)/2); ok && strings.Count(string(data[r.start:r.end]), "\n") >= min {
			return true
		}
	}
	return false
}

func compareSplit(t *testing.T, name string, data []byte, lim shapeLimits) {
	t.Helper()
	splitting = false
	want, werr := parseWith(name, data, lim)
	splitting = true
	got, gerr := parseWith(name, data, lim)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Errorf("%s: errors differ\nline by line:\n%v\nin parts:\n%v", name, werr, gerr)
		return
	}
	if werr != nil {
		return
	}
	// The routes are compared apart, and left out of cmp.Diff's walk of
	// the rest: it takes about 50 µs a route.
	if !reflect.DeepEqual(want.Intent.Routes, got.Intent.Routes) {
		t.Errorf("%s: routes differ", name)
	}
	if want.Resolved != nil && got.Resolved != nil {
		if !reflect.DeepEqual(want.Resolved.Routes, got.Resolved.Routes) {
			t.Errorf("%s: resolved routes differ", name)
		}
		want.Resolved.Routes, got.Resolved.Routes = nil, nil
	}
	want.Intent.Routes, got.Intent.Routes = nil, nil
	if diff := cmp.Diff(want, got, snapshotOpts); diff != "" {
		t.Errorf("%s: snapshots differ (-line by line +in parts):\n%s", name, diff)
	}
	if diff := cmp.Diff(want.origin.pos, got.origin.pos, cmp.AllowUnexported(filePos{})); diff != "" {
		t.Errorf("%s: positions differ (-line by line +in parts):\n%s", name, diff)
	}
	for p, x := range want.origin.lists {
		if diff := cmp.Diff(x, got.origin.lists[p], cmp.AllowUnexported(itemIndex{})); diff != "" {
			t.Errorf("%s: %s placed differently (-line by line +in parts):\n%s", name, p, diff)
		}
	}
}

// randomLongList writes a file of a few thousand routes in section
// ("routes" or "resolved"), with bad entries where says ("none",
// "first", "second" or "both" halves); plain leaves out the entries
// the fast decoders leave.
func randomLongList(rng *rand.Rand, section, where string, plain bool) []byte {
	n := splitMin + rng.IntN(2*splitMin)
	var b strings.Builder
	b.WriteString("version: 1\ntables: [{id: 100, name: vpn}]\n")
	indent := "  "
	if section == "resolved" {
		b.WriteString("snapshot: {id: 261124-120000, time: 2026-11-24T12:00:00Z, kind: apply}\nresolved:\n  routes:\n")
		indent = "    "
	} else {
		b.WriteString("routes:\n")
	}
	// Bad entries at a few places in the halves asked for.
	bad := map[int]bool{}
	for _, half := range []string{"first", "second"} {
		if where != half && where != "both" {
			continue
		}
		lo := 0
		if half == "second" {
			lo = n/2 + n/8
		}
		for range 1 + rng.IntN(3) {
			bad[lo+rng.IntN(n/2-n/8)] = true
		}
	}
	var tos, lines []string
	for i := range n {
		to := fmt.Sprintf("%d.%d.%d.0/24", 11+i>>16, byte(i>>8), byte(i))
		line := fmt.Sprintf("- {table: 100, to: %s, via: 10.0.0.2, dev: sc0}", to)
		k := rng.IntN(100)
		if plain {
			k = rng.IntN(3)
		}
		switch {
		case k < 2:
			to = fmt.Sprintf("2001:db8:%x::/64", i)
			line = fmt.Sprintf("- {table: %d, to: %s, dev: sc%d, metric: %d}", 100+rng.IntN(2), to, rng.IntN(3), rng.IntN(3))
		case k < 3:
			line = fmt.Sprintf("- {dev: sc1, via: 10.0.0.9, to: %s, table: 100}", to)
		case k < 4:
			// Left by the fast decoders: a quoted value, an entry on
			// two lines, a comment after it.
			line = fmt.Sprintf("- {table: 100, to: %s, dev: \"sc0\"}", to)
		case k < 5:
			line = fmt.Sprintf("- table: 100\n%s  to: %s\n%s  dev: sc2", indent, to, indent)
		case k < 6:
			line = fmt.Sprintf("- {table: 100, to: %s, via: 10.0.0.2} # gw", to)
		case k < 7:
			b.WriteString("\n" + indent + "# a comment\n")
		}
		switch {
		case bad[i] && plain:
			line = sameKey(rng, lines, line)
		case bad[i]:
			line = badEntry(rng, to, tos, indent)
		}
		tos, lines = append(tos, to), append(lines, line)
		b.WriteString(indent + line + "\n")
	}
	return []byte(b.String())
}

// sameKey is an entry the fast decoders read with the key of an earlier
// one: the same route, the previous one, or one that clashes.
func sameKey(rng *rand.Rand, earlier []string, line string) string {
	if len(earlier) == 0 {
		return line
	}
	switch rng.IntN(3) {
	case 0:
		return earlier[rng.IntN(len(earlier))]
	case 1:
		return earlier[len(earlier)-1]
	}
	return strings.Replace(earlier[rng.IntN(len(earlier))], "dev: sc", "dev: xc", 1)
}

// badEntry is an entry the decoder refuses, in one of several ways.
func badEntry(rng *rand.Rand, to string, earlier []string, indent string) string {
	dup := to
	if len(earlier) == 0 {
		earlier = []string{to}
	} else {
		dup = earlier[rng.IntN(len(earlier))]
	}
	switch rng.IntN(9) {
	case 7:
		return fmt.Sprintf("- {table: 100, to: %s, via: 10.0.0.2, dev: sc0}", earlier[len(earlier)-1])
	case 0:
		return fmt.Sprintf("- {table: 100, to: %s, via: 10.0.0.2, dev: sc0, colour: red}", to)
	case 1:
		return "- {table: 100, to: 300.1.2.0/24, via: 10.0.0.2, dev: sc0}"
	case 2:
		return fmt.Sprintf("- {table: 100, to: %s, via: 10.0.0.2, dev: sc0}", dup)
	case 3:
		return fmt.Sprintf("- {table: 100, to: %s, via: 10.0.0.7, dev: sc1}", dup)
	case 4:
		return fmt.Sprintf("- {table: 100, to: %s, to: %s, dev: sc0}", to, to)
	case 5:
		return fmt.Sprintf("- {table: 100, to: [%s, dev: sc0}", to)
	case 6:
		return fmt.Sprintf("- {table: 100, to: %s}", to)
	}
	return fmt.Sprintf("- table: 100\n%s  to: %s\n%s  to: %s", indent, to, indent, dup)
}
