package format

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// hostileLines are entries and lines that a list read in parts must read
// as one read line by line does: at the edges of what the scanner, the
// fast decoders and the whole file's shape check take, and keys given
// twice across the parts of a list.
var hostileLines = []string{
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0}",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0} # \x01 in a comment",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0}\r",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2,\tdev: sc0}",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0\x7f}",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0}}",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.3, dev: sc0}",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0, metric: 1}",
	"- {table: vpn, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0}",
	"- {table: vpn, to: 2001:db8::/64, dev: sc0}",
	"- {table: 100, to: 2001:db8::/64, dev: sc0}",
	"- {table: 100, to: 2001:db8::1/64, dev: sc0}",
	"- {table: 100, to: ::ffff:11.0.0.0/120, dev: sc0}",
	"- {table: 100, to: 11.0.0.7/24, via: 10.0.0.2, dev: sc0}",
	"- {to: 11.0.0.0/24, table: 100, dev: sc0, via: 10.0.0.2}",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, via: 10.0.0.2, dev: sc0}",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0, k: 1}",
	"- {table: 100, to: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[11.0.0.0/24]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], dev: sc0}",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: \"sc0\"}",
	"- {table: 100, to: 11.0.0.0/24, dev: sc-}",
	"- {table: 100, to: 11.0.0.0/24, dev: sc0:}",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.02, dev: sc0}",
	"- {table: 0100, to: 11.0.0.0/24, dev: sc0}",
	"- {table: 100, to: 11.0.0.0/24, dev: checksum}",
	"-",
	"- ",
	"-\t{table: 100, to: 11.0.0.0/24, dev: sc0}",
	"  # a comment between entries",
	"",
	"- table: 100",
	"  to: 11.0.0.0/24",
	"  dev: sc0",
	"checksum: sha256:00",
	"rules: []",
	"- {table: 100, to: 11.0.0.0/24, dev: sc0, mtu: 0}",
	"- {table: 100, to: default, via: 10.0.0.2}",
	"- {table: 100, to: 0.0.0.0/0, via: 10.0.0.2}",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0} # ok",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0}# not a comment",
}

// longHostileFile writes a list of more than splitMin routes in section
// ("routes" or "resolved"), each route its own but for a few lines of
// lines put in at places spread over the parts, as they are or with the
// route's own prefix.
func longHostileFile(rng *rand.Rand, section string, lines []string) []byte {
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
	at := map[int]string{}
	for range 1 + rng.IntN(4) {
		if len(lines) > 0 {
			at[rng.IntN(n)] = lines[rng.IntN(len(lines))]
		}
	}
	for i := range n {
		to := fmt.Sprintf("%d.%d.%d.0/24", 12+i>>16, byte(i>>8), byte(i))
		line := fmt.Sprintf("- {table: 100, to: %s, via: 10.0.0.2, dev: sc0}", to)
		if h, ok := at[i]; ok {
			line = h
			if rng.IntN(2) == 0 {
				line = strings.ReplaceAll(h, "11.0.0.0/24", to)
			}
		}
		b.WriteString(indent + line + "\n")
	}
	return []byte(b.String())
}

// TestHostileListsInParts holds a long list read in parts to the list
// read line by line, and both to the node decoder, on lists that hold a
// few hostile lines each, anywhere in them.
func TestHostileListsInParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 3))
	for n := range 40 {
		for _, section := range []string{"routes", "resolved"} {
			lines := []string{hostileLines[rng.IntN(len(hostileLines))], hostileLines[rng.IntN(len(hostileLines))]}
			data := longHostileFile(rng, section, lines)
			name := fmt.Sprintf("%s-%d", section, n)
			compareSplit(t, name, data, inputLimits)
			if n%4 == 0 {
				compareSplit(t, name, data, storedLimits)
				compareFast(t, name, data, inputLimits)
			}
		}
	}
}

// TestDuplicatesAcrossParts puts the same key (or the same route) in two
// parts of a long list, and nowhere else: the parts' hashes must find
// it, and the message must be the sequential check's.
func TestDuplicatesAcrossParts(t *testing.T) {
	for _, second := range []string{
		"- {table: 100, to: 12.0.0.0/24, via: 10.0.0.2, dev: sc0}",
		"- {table: 100, to: 12.0.0.0/24, via: 10.0.0.9, dev: sc1}",
		"- {table: 100, to: 12.0.0.5/24, via: 10.0.0.2, dev: sc0}",
		"- {dev: sc0, via: 10.0.0.2, to: 12.0.0.0/24, table: 100}",
	} {
		var b strings.Builder
		b.WriteString("version: 1\nroutes:\n")
		n := 3 * splitMin
		for i := range n {
			line := fmt.Sprintf("- {table: 100, to: %d.%d.%d.0/24, via: 10.0.0.2, dev: sc0}", 12+i>>16, byte(i>>8), byte(i))
			if i == n-1 {
				line = second
			}
			b.WriteString("  " + line + "\n")
		}
		data := []byte(b.String())
		compareSplit(t, second, data, inputLimits)
		_, err := Parse("dup.yaml", data)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("dup.yaml:%d:", n+2)) || !strings.Contains(err.Error(), "routes[0] (line 3)") {
			t.Errorf("%s: %v", second, err)
		}
	}
}

// TestShapeErrorComesFirst: the whole file's shape check runs beside the
// rest of the read, or after the parts of a long list, and its error is
// still the one reported when the list holds other problems too.
func TestShapeErrorComesFirst(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nroutes:\n")
	for i := range 2 * splitMin {
		line := fmt.Sprintf("- {table: 100, to: %d.%d.%d.0/24, via: 10.0.0.2, dev: sc0}", 12+i>>16, byte(i>>8), byte(i))
		switch i {
		case 10:
			line = "- {table: 100, to: 300.0.0.0/24, dev: sc0}"
		case splitMin:
			line += " # \x02"
		}
		b.WriteString("  " + line + "\n")
	}
	_, err := Parse("shape.yaml", []byte(b.String()))
	if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("shape.yaml:%d:", splitMin+3)) || !strings.Contains(err.Error(), "control character 0x02") {
		t.Errorf("got %v", err)
	}
}

// FuzzListInParts is TestHostileListsInParts on lines of any bytes.
func FuzzListInParts(f *testing.F) {
	for i, l := range hostileLines {
		f.Add([]byte(l), []byte(hostileLines[(i+7)%len(hostileLines)]), uint64(i))
	}
	for _, l := range fastLines {
		f.Add([]byte(l), []byte(l), uint64(len(l)))
	}
	f.Fuzz(func(t *testing.T, a, b []byte, seed uint64) {
		if bytes.IndexByte(a, '\n') >= 0 || bytes.IndexByte(b, '\n') >= 0 {
			t.Skip("one line each")
		}
		rng := rand.New(rand.NewPCG(seed, 18))
		section := []string{"routes", "resolved"}[seed%2]
		compareSplit(t, "fuzz.yaml", longHostileFile(rng, section, []string{string(a), string(b)}), inputLimits)
	})
}

// TestChecksumLineAtIsIndex holds checksumLineAt to the search it stands
// for, on files full of "k", of near misses, and of checksum lines.
func TestChecksumLineAtIsIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 4))
	pieces := []string{"k", "kk", "\n", "checksum:", "\nchecksum:", "checksum", "\nchecksu", "ecksum:", "x", "\nk", "c", " checksum:"}
	for n := range 2000 {
		var b strings.Builder
		for range rng.IntN(1 + n) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		data := []byte(b.String())
		want := bytes.Index(data, []byte("\n"+ChecksumPrefix))
		if want >= 0 {
			want++
		}
		if got := checksumLineAt(data); got != want {
			t.Fatalf("%q: got %d, want %d", data, got, want)
		}
	}
	many := []byte(strings.Repeat("k", 1<<20) + "\nchecksum: x\n")
	if got := checksumLineAt(many); got != 1<<20+1 {
		t.Errorf("after a run of k: got %d", got)
	}
}

// TestKeyHashesDistinct holds distinct to a set, on hashes with and
// without a value twice, in lists of every size around its groupings.
func TestKeyHashesDistinct(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 5))
	for _, n := range []int{0, 1, 2, 3, 255, 256, 257, 511, 4096, 70_000} {
		for _, twice := range []bool{false, true} {
			x := &keyHashes{h: make([]uint64, n)}
			for i := range x.h {
				x.h[i] = rng.Uint64()
				if i%3 == 0 {
					x.h[i] &^= 1 << 63
				}
			}
			if twice && n >= 2 {
				i, j := rng.IntN(n), rng.IntN(n)
				for j == i {
					j = rng.IntN(n)
				}
				x.h[j] = x.h[i]
			}
			seen := map[uint64]bool{}
			want := true
			for _, v := range x.h {
				want = want && !seen[v]
				seen[v] = true
			}
			if got := x.distinct(n); got != want {
				t.Errorf("n %d, twice %v: got %v, want %v", n, twice, got, want)
			}
		}
	}
	// Hashes that all fall in one group, as the sort of a large group
	// reads them, and two that differ in their top bit only.
	for _, twice := range []bool{false, true} {
		one := &keyHashes{h: make([]uint64, 5000)}
		for i := range one.h {
			one.h[i] = 0x5a5a<<48 | uint64(i)*7919
		}
		if twice {
			one.h[4321] = one.h[17]
		}
		if got := one.distinct(len(one.h)); got == twice {
			t.Errorf("one group, twice %v: distinct %v", twice, got)
		}
	}
	if x := (&keyHashes{h: []uint64{0x1234, 1<<63 | 0x1234}}); !x.distinct(2) {
		t.Error("two hashes apart in their top bit found alike")
	}
}

// TestParseIPv4AsNetip holds parseIPv4 to netip.ParseAddr: the same
// address for every dotted quad it reads, and a refusal for every text
// netip does not read as IPv4 (netip's errors it leaves to netip).
func TestParseIPv4AsNetip(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 6))
	const alphabet = "0123456789...x:/"
	for n := range 200_000 {
		b := make([]byte, rng.IntN(4+n%16))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if n%3 == 0 {
			b = fmt.Appendf(nil, "%d.%d.%d.%d", rng.IntN(300), rng.IntN(300), rng.IntN(300), rng.IntN(1000))
		}
		got, ok := parseIPv4(b)
		want, err := netip.ParseAddr(string(b))
		if ok != (err == nil && want.Is4()) || ok && got != want {
			t.Fatalf("%q: got %v %v, netip %v %v", b, got, ok, want, err)
		}
	}
}

// TestScanInIsScan holds scanIn, which scans a line in place in the
// file, to scan of the line lineAt cuts out: the same verdict and the
// same values, the next line where lineAt finds it, and "simple" exactly
// when countShape takes the line whole (simpleEntry) up to its newline.
func TestScanInIsScan(t *testing.T) {
	lines := append(append([]string{}, hostileLines...), fastLines...)
	lines = append(lines, "- {a: b} ", "- {dev: x-}", "- {dev: x--, to: y}", "  - {table: 1}  # c\r", "- {table: 1}\r\r", "- {table: 1}\r x", "- {table: 1", "- {table:")
	tails := []string{"", "\n", "\r\n", "\n  - {table: 2}\n", "\r", " \r\n", "\r \n", "# c\n", " # c\r\n"}
	for _, l := range lines {
		for _, tail := range tails {
			data := []byte(l + tail)
			want, got := newFlowReader(routeKeys), newFlowReader(routeKeys)
			line, _, next := lineAt(data, 0)
			wantOK := want.scan(line)
			gotNext, simple, gotOK := got.scanIn(data)
			name := fmt.Sprintf("%q", data)
			if wantOK != gotOK {
				t.Errorf("%s: scan %v, scanIn %v", name, wantOK, gotOK)
				continue
			}
			if !wantOK {
				continue
			}
			if gotNext != next {
				t.Errorf("%s: next line at %d, lineAt says %d", name, gotNext, next)
			}
			if want.n != got.n || want.brace != got.brace || want.dash != got.dash || fmt.Sprint(want.vals[:want.n], want.keyOf[:want.n], want.cols[:want.n], want.slotOf) != fmt.Sprint(got.vals[:got.n], got.keyOf[:got.n], got.cols[:got.n], got.slotOf) {
				t.Errorf("%s: scanned differently", name)
			}
			end, _, ok := simpleEntry(data, got.dash, MaxKeys)
			whole := ok && (end == len(data) || data[end] == '\n') && end+1 >= gotNext
			if simple != whole {
				t.Errorf("%s: simple %v, countShape takes it whole %v", name, simple, whole)
			}
		}
	}
}

// TestShapeSkippingAsWhole holds the check of the whole file made after
// the parts, which skips the runs of lines they found, to the check of
// every line: the same verdict on the hostile lists, and under depth
// caps where the lines of a run are, or are not, taken whole.
func TestShapeSkippingAsWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 4))
	extra := []string{"- {table: 100, to: 11.0.0.0/24, dev: sc0} # [", "- {table: 100, to: 11.0.0.0/24, dev: sc0} # ]", "   ", "  \r", "# at the left", "- {table: 100, to: 11.0.0.0/24, dev: sc0} # \x03"}
	pool := append(append([]string{}, hostileLines...), extra...)
	for n := range 40 {
		section := []string{"routes", "resolved"}[n%2]
		lines := []string{pool[rng.IntN(len(pool))], pool[rng.IntN(len(pool))]}
		data := longHostileFile(rng, section, lines)
		regions := findRegions(data)
		var runs []lineRun
		_, _, read := parseListsChecked("x.yaml", data, 0, inputLimits, regions, nil, &runs)
		if !read {
			continue
		}
		if len(runs) == 0 && readInParts(regions) {
			t.Errorf("%d: no runs found in a list read in parts", n)
		}
		slices.SortFunc(runs, func(a, b lineRun) int { return a.first - b.first })
		for _, depth := range []int{3, 4, 5, MaxDepth} {
			lim := wholeLimits(inputLimits)
			lim.depth = depth
			_, want := countShape("x.yaml", data, lim)
			_, got := countShapeSkipping("x.yaml", data, lim, runs)
			if fmt.Sprint(want) != fmt.Sprint(got) {
				t.Errorf("%d, depth %d: every line: %v; skipping: %v", n, depth, want, got)
			}
		}
	}
}
