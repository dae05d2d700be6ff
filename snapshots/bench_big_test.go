package snapshots

import (
	"fmt"
	"strings"
	"testing"
)

// bigFile is a snapshot file of n routes in the intent's routes list, one
// {table, to, via, dev} line each, as `apply -f` of a large list reads it.
func bigFile(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\ncomment: big\nroutes:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {table: 100, to: %d.%d.%d.0/24, via: 10.0.0.2, dev: sc0}\n", 11+i>>16, byte(i>>8), byte(i))
	}
	return []byte(b.String())
}

func BenchmarkParseBig(b *testing.B) {
	data := bigFile(100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("big", data); err != nil {
			b.Fatal(err)
		}
	}
}
