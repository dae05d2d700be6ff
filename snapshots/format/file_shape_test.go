package format

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// countShapeByByte is countShape as it was first written, a byte at a time:
// the reference TestCountShapeSkipsOnlyWhatItWouldCount holds it to.
func countShapeByByte(name string, data []byte, lim shapeLimits) (int, error) {
	type level struct{ indent, keys int }
	var blocks []level // the open block levels, by indentation
	var flows []int    // keys of each open flow collection
	nodes, lineStart := 0, 0
	atLineStart, indent := true, 0
	fail := func(off int, format string, a ...any) error {
		l, c := posAt(data, off)
		return &FileError{File: name, Line: l, Column: c, Msg: fmt.Sprintf(format, a...)}
	}
	for i := 0; i < len(data); i++ {
		ch := data[i]
		if (ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') || ch == 0x7f {
			// YAML allows none of these raw (they can be written escaped
			// in double quotes); printed back, they would drive a terminal.
			return 0, fail(i, "%s", controlMsg(ch))
		}
		if atLineStart {
			switch ch {
			case ' ', '\t':
				indent++
				continue
			case '\n', '\r':
				indent = 0
				if ch == '\n' {
					lineStart = i + 1
				}
				continue
			case '#':
				for i < len(data) && data[i] != '\n' {
					i++
				}
				lineStart, indent = i+1, 0
				continue
			}
			atLineStart = false
			if len(flows) == 0 {
				for len(blocks) > 0 && blocks[len(blocks)-1].indent > indent {
					blocks = blocks[:len(blocks)-1]
				}
				if len(blocks) == 0 || blocks[len(blocks)-1].indent != indent {
					blocks = append(blocks, level{indent: indent})
				}
			}
		}
		switch ch {
		case '\n':
			atLineStart, indent = true, 0
			lineStart = i + 1
		case '[', '{':
			flows = append(flows, 0)
			nodes++
		case ']', '}':
			if len(flows) > 0 {
				flows = flows[:len(flows)-1]
			}
		case ',':
			nodes++
			if len(flows) > 0 {
				// An entry of a flow list; in a flow mapping the keys
				// are counted at their colons instead.
				if flows[len(flows)-1]++; flows[len(flows)-1] >= lim.keys {
					return 0, fail(i, "a flow list or mapping with more than %d entries, more than nictab reads", lim.keys)
				}
			}
		case ':', '-':
			if i+1 < len(data) && data[i+1] != ' ' && data[i+1] != '\n' && data[i+1] != '\t' && data[i+1] != '\r' {
				break
			}
			nodes++
			keys := 0
			switch {
			case ch == '-':
			case len(flows) > 0:
				// counted by their commas
			case len(blocks) > 0:
				blocks[len(blocks)-1].keys++
				keys = blocks[len(blocks)-1].keys
			}
			if keys > lim.keys {
				return 0, fail(i, "a mapping with more than %d keys, more than nictab reads", lim.keys)
			}
			// "- " starts a list entry, and "- - x" or "a: - x" nest
			// within one line: each counts as a level.
			if len(flows) == 0 {
				blocks = append(blocks, level{indent: i - lineStart + 1})
			}
		}
		if len(blocks)+len(flows) > lim.depth {
			return 0, fail(i, "nests deeper than %d levels: a snapshot file needs six", lim.depth)
		}
		if nodes > lim.nodes {
			return 0, fail(i, "holds more than %d values, more than nictab reads %s", max(lim.cap, lim.nodes), lim.note)
		}
	}
	return nodes, nil
}

// shapeFiles are files at and past every cap countShape enforces, in
// lines it takes whole and lines it reads byte by byte.
func shapeFiles(t testing.TB) map[string][]byte {
	files := map[string][]byte{}
	for name, text := range listFiles() {
		files[name] = []byte(text)
	}
	for name, data := range worstFiles() {
		files["worst-"+name] = data
	}
	for i, l := range fastLines {
		files[fmt.Sprintf("fast-%d", i)] = []byte("version: 1\nroutes:\n  " + l + "\n")
	}
	for _, dir := range []string{"good", "bad"} {
		paths, _ := filepath.Glob(filepath.Join("testdata", "files", dir, "*.yaml"))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[p] = data
		}
	}
	entry := "- {table: 100, to: 11.0.0.0/24, dev: sc0}"
	keys := "- {" + strings.Repeat("k: 1, ", MaxKeys-1) + "k: 1}"
	for name, text := range map[string]string{
		"keys-at-cap":    "version: 1\nrules:\n" + keys + "\n",
		"keys-past-cap":  "version: 1\nrules:\n" + strings.Replace(keys, "{", "{k: 1, ", 1) + "\n",
		"deep-entries":   "version: 1\n" + strings.Repeat("- ", MaxDepth-2) + "\n" + strings.Repeat(" ", 2*(MaxDepth-2)) + entry + "\n",
		"deeper-entries": "version: 1\n" + strings.Repeat("- ", MaxDepth-1) + "\n" + strings.Repeat(" ", 2*(MaxDepth-1)) + entry + "\n",
		"comment-after":  "version: 1\nroutes:\n  " + entry + " # [[[{{{" + "\x01" + "\n",
		"value-colon":    "version: 1\nroutes:\n  - {table: 100, to: a:, dev: b-}\n  - {a: b- , c: d: }\n",
		"value-dash":     "version: 1\nroutes:\n  - {a: b- , c: d}\n  - {a: b- }\n  - {a: b:c-d}\n",
		"no-newline":     "version: 1\nroutes:\n  " + entry,
		"crlf":           "version: 1\r\nroutes:\r\n  " + entry + "\r\n",
		"control":        "version: 1\nroutes:\n  - {table: 100, to: 11.0.0.0/24, dev: s\x01c0}\n",
		"tab":            "version: 1\nroutes:\n  - {table: 100,\tto: 11.0.0.0/24}\n",
		"many":           "version: 1\nroutes:\n" + strings.Repeat("  "+entry+"\n", MaxNodes/6+10),
	} {
		files[name] = []byte(text)
	}
	// An entry under each depth of nesting, across both depth caps.
	for k := range MaxDepth + 2 {
		var b strings.Builder
		b.WriteString("version: 1\n")
		for j := range k {
			b.WriteString(strings.Repeat("  ", j) + "a:\n")
		}
		b.WriteString(strings.Repeat("  ", k) + entry + "\n")
		files[fmt.Sprintf("nested-%d", k)] = []byte(b.String())
	}
	return files
}

// TestCountShapeSkipsOnlyWhatItWouldCount holds countShape, which skips
// inert bytes and takes simple list lines whole, to the count a byte at a
// time: the same values, or the same error at the same place, under the
// caps of both kinds of file and under tight ones.
func TestCountShapeSkipsOnlyWhatItWouldCount(t *testing.T) {
	tight := shapeLimits{depth: 6, nodes: 40, keys: 3, note: "tight"}
	for name, data := range shapeFiles(t) {
		for _, lim := range []shapeLimits{inputLimits, storedLimits, tight} {
			compareShape(t, name, data, lim)
		}
	}
}

func compareShape(t *testing.T, name string, data []byte, lim shapeLimits) {
	t.Helper()
	n1, err1 := countShapeByByte(name, data, lim)
	n2, err2 := countShape(name, data, lim)
	if n1 != n2 || fmt.Sprint(err1) != fmt.Sprint(err2) {
		t.Errorf("%s (%s): byte by byte %d, %v; countShape %d, %v", name, lim.note, n1, err1, n2, err2)
	}
}

// FuzzCountShape is the same comparison on any bytes.
func FuzzCountShape(f *testing.F) {
	for _, data := range shapeFiles(f) {
		f.Add(data)
	}
	tight := shapeLimits{depth: 6, nodes: 40, keys: 3, note: "tight"}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareShape(t, "fuzz.yaml", data, inputLimits)
		compareShape(t, "fuzz.yaml", data, tight)
	})
}

// BenchmarkCountShape counts a saved snapshot of 100k routes, as every
// read of it does, and (byte) as it was counted a byte at a time.
func BenchmarkCountShape(b *testing.B) {
	data, err := Marshal(bigSaved(100_000))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		count func(string, []byte, shapeLimits) (int, error)
	}{{"now", countShape}, {"byte", countShapeByByte}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := c.count("x", data, storedLimits); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
