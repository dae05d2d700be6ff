package format

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/google/go-cmp/cmp"
)

// listLines are route and rule entries of every shape the line reader
// takes or leaves to the parser: plain, quoted, commented, numbers the
// parser types differently, keys unknown or given twice, values out of
// range, and entries that go on over several lines.
var listLines = []string{
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0}",
	"- {table: vpn, to: 11.0.1.0/24, dev: sc0, metric: 100}",
	"- {table: 100, to: 2001:db8::/64, via: fe80::1, dev: sc0}",
	"- {table: 100, to: ::/0, via: fe80::1, dev: sc0}",
	"- {table: 100, to: default, via: 10.0.0.1}",
	"- {table: 0x64, to: 11.0.2.0/24, dev: sc0}",
	"- {table: 0100, to: 11.0.3.0/24, dev: sc0}",
	"- {table: 100, to: 11.0.4.0/24, dev: sc0, metric: 99999999999999999999999}",
	"- {table: 100, to: 11.0.5.0/24, dev: sc0, metric: -1}",
	"- {table: 100, to: 11.0.6.0/24, dev: sc0, metric: 1.5}",
	"- {table: 100, to: 11.0.7.0/24, dev: \"sc0\"}",
	"- {table: 100, to: '11.0.8.0/24', dev: sc0}",
	"- {table: 100, to: 11.0.9.0/24, dev: sc0}  # a comment",
	"- {table: 100, to: 11.0.10.0/24, dev: sc0}# not a comment",
	"- {table: 100, to: 11.0.11.0/24, dev: sc0, dev: sc1}",
	"- {table: 100, to: 11.0.12.0/24, dev: sc0, colour: red}",
	"- {table: 100, to: 11.0.13.0/24, devv: sc0}",
	"- {table: 100, to: 11.0.14.0/24}",
	"- {to: 11.0.15.0/24, dev: sc0}",
	"- {table: 100, to: 11.0.16.0/33, dev: sc0}",
	"- {table: 100, to: 11.0.17.1/24, dev: sc0}",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0}",
	"- {table: 100, to: 11.0.0.0/24, via: 10.0.0.3, dev: sc0}",
	"- {table: 100, to: 11.0.18.0/24, dev: sc0, scope: link, type: unicast}",
	"- {table: 100, to: 11.0.19.0/24, type: blackhole}",
	"- {table: 100, to: 11.0.20.0/24, dev: null}",
	"- {table: 100, to: 11.0.21.0/24, dev: true}",
	"- {table: 100, to: 11.0.22.0/24, dev: ~}",
	"- {table: 100, to: 11.0.23.0/24, dev: .inf}",
	"- {table: 100, to: 11.0.24.0/24, via: fe80::, dev: sc0}",
	"- {table: 100,to: 11.0.25.0/24, dev: sc0}",
	"- {table:100, to: 11.0.26.0/24, dev: sc0}",
	"- {table: 100, to: 11.0.27.0/24, dev: sc0,}",
	"- {}",
	"- {table: 100, to: 11.0.28.0/24, dev: &a sc0}",
	"- {table: 100, to: 11.0.29.0/24, dev: !!str sc0}",
	"-   {table: 100 , to: 11.0.30.0/24 ,  dev: sc0 }",
	"- table: 100\n    to: 11.0.31.0/24\n    dev: sc0",
	"- table: 100\n  # between\n    to: 11.0.32.0/24\n    dev: sc0",
	"- {table: 100, to: 11.0.33.0/24,\n    dev: sc0}",
	"- {table: 100, to: 11.0.34.0/24, dev: sc0\n",
	"- [1, 2]",
	"- 1",
	"-",
	"- {table: 100, to: 11.0.35.0/24, dev: \"a\\x1bb\"}",
	"- {priority: 1000, from: 10.0.0.0/8, table: 100}",
	"- {priority: 1000, from: 10.0.0.0/8, table: 100}",
	"- {priority: 1001, fwmark: 0x13/0xff, table: 100}",
	"- {priority: 1002, iif: sc0, table: vpn}",
	"- {priority: 40000, table: 100}",
	"- {family: inet, priority: 1003, from: 10.1.0.0/16, action: lookup, table: 100, protocol: 201}",
	"- {table: 100, type: unicast, to: 11.1.0.0/24, via: 10.0.0.2, dev: sc0, protocol: 201, metric: 5, onlink: true}",
	"- {table: 100, to: 11.1.1.0/24, protocol: 201, nexthops: [{via: 10.0.0.2, dev: sc0, weight: 1}, {via: 10.0.0.3, dev: sc0, weight: 2}]}",
	"- {table: 100, to: 11.1.2.0/24, via: 10.0.0.2, dev: sc0, protocol: 201, mtu: 1400}",
	"- {table: 100, to: 11.1.3.0/24, via: 10.0.0.2, dev: sc0, protocol: 201, tos: 8}",
}

// listFiles places every line in the lists the line reader reads, one
// at a time and all together, at the indentations a person might use.
func listFiles() map[string]string {
	out := map[string]string{}
	head := "version: 1\ncomment: lists\ntables: [{id: 100, name: vpn}]\n"
	meta := "snapshot: {id: 261124-120000, time: 2026-11-24T12:00:00Z, kind: apply}\n"
	for i, l := range listLines {
		out[fmt.Sprintf("routes-%d", i)] = head + "routes:\n  " + strings.ReplaceAll(l, "\n", "\n  ") + "\n"
		out[fmt.Sprintf("rules-%d", i)] = head + "rules:\n" + l + "\n"
		out[fmt.Sprintf("resolved-%d", i)] = head + meta + "resolved:\n  routes:\n    " + strings.ReplaceAll(l, "\n", "\n    ") + "\n  rules:\n  " + strings.ReplaceAll(l, "\n", "\n  ") + "\n"
	}
	var all strings.Builder
	for _, l := range listLines {
		all.WriteString("  " + strings.ReplaceAll(l, "\n", "\n  ") + "\n")
	}
	out["all-routes"] = head + "routes:\n" + all.String() + "nics: []\n"
	out["all-rules"] = head + "rules:\n" + all.String() + "\n# end\n"
	out["all-resolved"] = head + meta + "resolved:\n  names: [{id: 100, name: vpn}]\n  routes:\n" + strings.ReplaceAll(all.String(), "\n  ", "\n    ")[0:] + "  rules:\n" + all.String()
	good := ""
	for _, l := range listLines[:3] {
		good += "  " + l + "\n"
	}
	out["good"] = head + "routes:\n" + good
	out["crlf"] = strings.ReplaceAll(head+"routes:\n"+good, "\n", "\r\n")
	out["two-keys"] = head + "routes:\n" + good + "routes:\n" + good
	out["in-a-string"] = "version: 1\ncomment: \"a\nroutes:\n  - {table: 100, to: 11.0.0.0/24, dev: sc0}\n  b\"\n"
	out["flow-value"] = head + "routes: [{table: 100, to: 11.0.0.0/24, dev: sc0}]\n"
	out["same-indent"] = head + "routes:\n" + strings.ReplaceAll(good, "\n  ", "\n")[2:] + "nics: []\n"
	out["odd-indent"] = head + "routes:\n    " + listLines[0] + "\n  " + listLines[1] + "\n"
	out["tab"] = head + "routes:\n\t" + listLines[0] + "\n"
	out["comment-key"] = head + "routes: # the big list\n" + good
	return out
}

// TestListsReadAsTheParserReads holds the line reader to the parser:
// every file reads the same either way (the same snapshot, or the same
// errors but for the parser's own syntax messages, which depend on what
// surrounds them), and every field is found on the same line and column.
func TestListsReadAsTheParserReads(t *testing.T) {
	files := listFiles()
	for _, dir := range []string{"good", "bad"} {
		paths, _ := filepath.Glob(filepath.Join("testdata", "files", dir, "*.yaml"))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[p] = string(data)
		}
	}
	fast := 0
	for name, text := range files {
		fast += compareReaders(t, name, []byte(text))
	}
	if fast < 20 {
		t.Errorf("only %d entries were read line by line: the line reader is not being used", fast)
	}
}

// compareReaders checks one file and returns how many entries the line
// reader read.
func compareReaders(t *testing.T, name string, data []byte) int {
	t.Helper()
	readListsByLine = false
	whole, werr := parseWith(name, data, storedLimits)
	readListsByLine = true
	split, serr := parseWith(name, data, storedLimits)
	if (werr == nil) != (serr == nil) {
		t.Errorf("%s: whole file: %v; by lists: %v\n%s", name, werr, serr, data)
		return 0
	}
	if werr != nil {
		w, s := werr.Error(), serr.Error()
		// The parser's syntax messages depend on what surrounds them, and
		// its column for an entry of nothing on what follows it.
		if w != s && !strings.Contains(w, "YAML:") && !strings.Contains(s, "YAML:") && !strings.Contains(w, "got nothing") {
			t.Errorf("%s: errors differ\nwhole file:\n%s\nby lists:\n%s\n%s", name, w, s, data)
		}
		return 0
	}
	if diff := cmp.Diff(whole, split, snapshotOpts); diff != "" {
		t.Errorf("%s: snapshots differ (-whole +lists):\n%s", name, diff)
	}
	n := 0
	if split.origin.lists == nil {
		return 0
	}
	for path, x := range split.origin.lists {
		for i, off := range x.offs {
			if off < 0 {
				continue
			}
			n++
			item := index(path, i)
			for p, want := range whole.origin.pos {
				if p != item && !strings.HasPrefix(p, item+".") {
					continue
				}
				if got, ok := split.origin.at(p); !ok || got != want {
					t.Errorf("%s: %s at %v (found %v), the parser says %v", name, p, got, ok, want)
				}
			}
		}
	}
	return n
}

// FuzzListsReadAsTheParserReads is the same comparison on any bytes.
func FuzzListsReadAsTheParserReads(f *testing.F) {
	for _, text := range listFiles() {
		f.Add([]byte(text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareReaders(t, "fuzz.yaml", data)
	})
}

// blankRegions returns data with the lines of every region emptied, so
// that the parser reads the rest at the same line numbers: the oracle
// cutRegions is held to.
func blankRegions(data []byte, regions []listRegion) []byte {
	size := len(data)
	for _, r := range regions {
		size -= r.end - r.start - r.newlines
	}
	out := make([]byte, 0, size)
	at := 0
	for _, r := range regions {
		out = append(out, data[at:r.start]...)
		for range r.newlines {
			out = append(out, '\n')
		}
		at = r.end
	}
	return append(out, data[at:]...)
}

// TestCutRegionsReadsAsBlanked holds the rest of a file given to the
// parser without its lists' lines (cutRegions), placed back at the file's
// lines, to the rest with those lines left empty: the same values counted
// or the same shape error, and the same tree, node for node and at the
// same places, or the same parser error.
func TestCutRegionsReadsAsBlanked(t *testing.T) {
	files := map[string]string{
		"flow after":       "version: 1\nroutes:\n  - {table: 1, to: x}\n  - {table: 2}\nrules: [\n",
		"quote after":      "version: 1\nroutes:\n  - {table: 1}\ncomment: \"abc\n",
		"in a quote":       "version: 1\ncomment: \"abc\nroutes:\n  - {a: b}\n  - {c: d}\nend\"\n",
		"in a flow":        "version: 1\ntables: [\nroutes:\n  - {a: b}\n]\n",
		"bad after":        "version: 1\nroutes:\n  - {a: b}\n  - {c: d}\nx: : y\n",
		"tab after":        "version: 1\nroutes:\n  - {a: b}\n\tkey: 1\n",
		"second document":  "routes:\n  - {a: b}\n---\nversion: 1\n",
		"at the end":       "version: 1\nroutes:\n  - {a: b}\n  - {c: d}",
		"key again":        "version: 1\nroutes:\n  - {a: b}\n\n  - {c: d}\nversion: 2\nrules:\n  - {x: 1}\n# c\nroutes: []\n",
		"resolved":         "version: 1\nresolved:\n  routes:\n    - {table: 1}\n    - {table: 2}\n  tables: [{id: 1, name: a}]\n  rules:\n    - {priority: 1}\nsnapshot: {id: x}\n",
		"deep after":       "version: 1\nroutes:\n  - {a: b}\nx: " + strings.Repeat("[", MaxDepth+1) + "\n",
		"control after":    "version: 1\nroutes:\n  - {a: b}\nx: \x01\n",
		"block scalar":     "version: 1\ncomment: |\n  a\nroutes:\n  - {a: b}\n  - c\nnext: |\n  b\n\n  c\n",
		"alias after":      "version: 1\nroutes:\n  - &a {a: b}\nx: *a\ny: *b\n",
		"only the list":    "routes:\n  - {a: b}\n",
		"comments between": "version: 1\nrules:\n  # c\n  - {priority: 1}\n\n  - {priority: 2}\n# end\nroutes:\n  - {table: 1}\n",
	}
	rng := rand.New(rand.NewPCG(18, 5))
	for n := range 6 {
		lines := []string{hostileLines[rng.IntN(len(hostileLines))], hostileLines[rng.IntN(len(hostileLines))]}
		files[fmt.Sprintf("hostile-%d", n)] = string(longHostileFile(rng, []string{"routes", "resolved"}[n%2], lines)) + "tail: [1, 2\n"
	}
	for name, text := range files {
		data := []byte(text)
		regions := findRegions(data)
		if len(regions) == 0 {
			if !strings.HasPrefix(name, "hostile") {
				t.Errorf("%s: no list found", name)
			}
			continue
		}
		blanked := blankRegions(data, regions)
		rest, shifts := cutRegions(data, regions)
		wantN, wantErr := countShape(name, blanked, inputLimits)
		gotN, gotErr := countShape(name, rest, inputLimits)
		shifts.place(gotErr)
		if wantN != gotN || fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
			t.Errorf("%s: shape of the blanked rest %d, %v; of the cut rest %d, %v", name, wantN, wantErr, gotN, gotErr)
		}
		want, wantErr := parseYAML(name, blanked)
		got, gotErr := parseTokens(name, shifts.tokens(rest))
		if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
			t.Errorf("%s: blanked: %v\ncut: %v", name, wantErr, gotErr)
			continue
		}
		// A list the parser does not see as the value of its key (one
		// within a quoted text) leaves the file to be read whole
		// (regionFor), whatever the rest reads as.
		w, g := dumpTree(want), dumpTree(got)
		seen := true
		for _, r := range regions {
			key := r.path[strings.LastIndexByte(r.path, '.')+1:]
			seen = seen && strings.Contains(w, fmt.Sprintf("String %q %d:%d\n", key, r.keyLine, r.keyCol))
		}
		if w != g && seen {
			t.Errorf("%s: trees differ\nblanked:\n%s\ncut:\n%s", name, w, g)
		}
		if name == "in a quote" && seen {
			t.Errorf("%s: the parser saw a list within a quoted text", name)
		}
	}
}

// dumpTree writes every node of a tree with its token and place.
func dumpTree(n ast.Node) string {
	var b strings.Builder
	if n != nil {
		ast.Walk(treeDump{&b}, n)
	}
	return b.String()
}

type treeDump struct{ b *strings.Builder }

func (d treeDump) Visit(n ast.Node) ast.Visitor {
	fmt.Fprintf(d.b, "%v %q", n.Type(), n.String())
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		fmt.Fprintf(d.b, " %d:%d", tk.Position.Line, tk.Position.Column)
	}
	d.b.WriteByte('\n')
	return d
}

// scanListByLine is scanList as it was, line by line with lineAt: the
// oracle scanList is held to. It finds the block list that is the value
// of a key at keyIndent whose next line starts at off: its entries at
// one indentation (the key's own, or deeper), each with the deeper lines
// that continue it. It ends before the first line at the key's
// indentation or less that is not an entry; any other shape is not a
// block list, and left to the parser.
func scanListByLine(data []byte, off, lineNo, keyIndent int) (listRegion, bool) {
	r := listRegion{start: off, startLine: lineNo, indent: -1}
	end := off
	for off < len(data) {
		line, indent, next := lineAt(data, off)
		switch {
		case blankOrComment(line, indent):
		case r.indent < 0:
			if indent < keyIndent || !isEntry(line, indent) || blankOrComment(line, min(indent+2, len(line))) {
				return r, false
			}
			r.indent = indent
			end = next
		case indent > r.indent:
			end = next
		case indent == r.indent && isEntry(line, indent):
			// The parser takes the line after a bare "-" as its value,
			// whatever its indentation: such a list is left to it.
			if blankOrComment(line, min(indent+2, len(line))) {
				return r, false
			}
			end = next
		case indent <= keyIndent:
			r.end = end
			return r, true
		default:
			return r, false
		}
		off = next
	}
	r.end = end
	return r, r.indent >= 0
}

// TestScanListAsByLine holds scanList, which takes the entry lines of a
// long list without lineAt and counts line breaks as it goes, to the
// scan it stands for: the same regions, and as many line breaks as they
// hold.
func TestScanListAsByLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 6))
	var files [][]byte
	for n := range 30 {
		lines := []string{hostileLines[rng.IntN(len(hostileLines))], hostileLines[rng.IntN(len(hostileLines))], "  - x\r", "- \r", "-  #", "    deeper", "  -\t{a: b}", "x: 1"}
		files = append(files, longHostileFile(rng, []string{"routes", "resolved"}[n%2], lines[rng.IntN(len(lines)):]))
	}
	for _, tail := range []string{"", "  - {a: b}", "  - {a: b}\r", "  - ", "  -", "  # c", "x: 1\n"} {
		files = append(files, []byte("version: 1\nroutes:\n  - {a: b}\n  - {c: d}\n"+tail))
	}
	for i, data := range files {
		for off := 0; off < len(data); {
			line, indent, next := lineAt(data, off)
			if keyLineIs(line, indent, "routes") {
				for _, keyIndent := range []int{0, indent} {
					got, gotOK := scanList(data, next, 2, keyIndent)
					want, wantOK := scanListByLine(data, next, 2, keyIndent)
					if gotOK != wantOK || gotOK && (got.start != want.start || got.end != want.end || got.indent != want.indent) {
						t.Errorf("file %d, line at %d: %+v %v, by line %+v %v", i, off, got, gotOK, want, wantOK)
					}
					if !gotOK {
						continue
					}
					if n := bytes.Count(data[got.start:got.end], []byte{'\n'}); got.newlines != n {
						t.Errorf("file %d: %d line breaks counted, %d in the region", i, got.newlines, n)
					}
				}
			}
			off = next
		}
	}
}
