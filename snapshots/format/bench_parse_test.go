package format

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// worstFiles are the most expensive shapes of snapshot file found that
// pass the input caps (MaxTextSize, MaxDepth, MaxNodes): what a hostile
// or mistaken file can cost the parser at most. README.md has the
// figures.
func worstFiles() map[string][]byte {
	out := map[string][]byte{}
	fill := func(head, unit string, nodesPer int) []byte {
		var b strings.Builder
		b.WriteString(head)
		n := 0
		for b.Len()+len(unit) < MaxTextSize && n+nodesPer <= MaxNodes-8 {
			b.WriteString(unit)
			n += nodesPer
		}
		return []byte(b.String())
	}
	// Many small values: the node cap, reached with the least text; and
	// mappings of MaxKeys keys each, the parser's quadratic case.
	out["flat-keys"] = fill("version: 1\nrules:\n", "- {k: 1}\n", 3)
	out["block-mappings"] = fill("version: 1\nrules:\n", "- k: 1\n"+strings.Repeat("  k: 1\n", MaxKeys-1), 1+MaxKeys)
	out["flow-mappings"] = fill("version: 1\nrules:\n", "- {"+strings.Repeat("k: 1, ", MaxKeys-1)+"k: 1}\n", 2+2*MaxKeys)
	out["flow-lists"] = fill("version: 1\nrules:\n", "- ["+strings.Repeat("1, ", MaxKeys-1)+"1]\n", 1+MaxKeys)
	out["block-list"] = fill("version: 1\nrules:\n", "- 1\n", 1)
	// Saved routes, as a real store file holds them, up to the node cap.
	out["routes"] = fill("version: 1\nsnapshot: {id: x, time: 2026-11-24T17:55:12Z, kind: apply}\nresolved:\n  routes:\n",
		"    - {table: 13, to: 10.1.2.0/24, via: 192.168.10.1, dev: eno1, protocol: 201, metric: 100}\n", 15)
	// Nesting at the depth cap, over and over.
	deep := "- " + strings.Repeat("[", MaxDepth-4) + strings.Repeat("]", MaxDepth-4) + "\n"
	out["deep-flow"] = fill("version: 1\nrules:\n", deep, MaxDepth-3)
	// Few values, all the bytes: one huge scalar, and comments.
	out["long-scalar"] = []byte("version: 1\ncomment: \"" + strings.Repeat("x", MaxTextSize-40) + "\"\n")
	out["comments"] = fill("version: 1\n", "# "+strings.Repeat("c", 76)+"\n", 0)
	return out
}

func BenchmarkParseWorst(b *testing.B) {
	files := worstFiles()
	for _, name := range []string{"flat-keys", "block-mappings", "flow-mappings", "flow-lists", "block-list", "routes", "deep-flow", "long-scalar", "comments"} {
		data := files[name]
		b.Run(fmt.Sprintf("%s-%dKiB", name, len(data)>>10), func(b *testing.B) {
			if err := checkShape(name, data, inputLimits); err != nil {
				b.Fatalf("not under the caps: %v", err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = Parse(name, data)
			}
		})
	}
}

// TestWorstFilesPassTheCaps keeps the benchmark honest: each shape it
// measures is one checkShape lets through, and one node more is refused.
func TestWorstFilesPassTheCaps(t *testing.T) {
	for name, data := range worstFiles() {
		if len(data) > MaxTextSize {
			t.Errorf("%s: %d bytes, over MaxTextSize", name, len(data))
		}
		if err := checkShape(name, data, inputLimits); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	over := "version: 1\nrules: [" + strings.Repeat("1,", MaxNodes) + "]\n"
	if err := checkShape("over", []byte(over), inputLimits); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("one node over the cap: %v", err)
	}
	tooDeep := "version: 1\nrules: " + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + "\n"
	if err := checkShape("deep", []byte(tooDeep), inputLimits); err == nil || !strings.Contains(err.Error(), "nests deeper") {
		t.Errorf("past the depth cap: %v", err)
	}
	keys := "version: 1\n" + strings.Repeat("k: 1\n", MaxKeys+1)
	if err := checkShape("keys", []byte(keys), inputLimits); err == nil || !strings.Contains(err.Error(), "more than 64 ") {
		t.Errorf("past the key cap: %v", err)
	}
	flowKeys := "version: 1\nx: {" + strings.Repeat("k: 1, ", MaxKeys+1) + "}\n"
	if err := checkShape("flowkeys", []byte(flowKeys), inputLimits); err == nil || !strings.Contains(err.Error(), "more than 64 ") {
		t.Errorf("past the key cap in a flow mapping: %v", err)
	}
	flowList := "version: 1\nx: [" + strings.Repeat("1, ", MaxKeys+1) + "]\n"
	if err := checkShape("flowlist", []byte(flowList), inputLimits); err == nil || !strings.Contains(err.Error(), "more than 64 entries") {
		t.Errorf("past the entry cap in a flow list: %v", err)
	}
}

// TestWriteWorstFiles writes the worst files into $NICTAB_WORST_DIR for
// bench/parse-worst.sh, which times the real binary on them; without the
// variable it does nothing.
func TestWriteWorstFiles(t *testing.T) {
	dir := os.Getenv("NICTAB_WORST_DIR")
	if dir == "" {
		t.Skip("NICTAB_WORST_DIR is not set: only bench/parse-worst.sh wants the files")
	}
	for name, data := range worstFiles() {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
