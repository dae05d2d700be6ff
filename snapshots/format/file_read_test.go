package format

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadFullIsReadFull holds readFull, which reads a large file in two
// halves at once, to io.ReadFull of the file: the same bytes, count and
// error, for files shorter than the room (ending in either half, or at
// its last byte, as a file that has not grown does), as long, and longer.
func TestReadFullIsReadFull(t *testing.T) {
	dir := t.TempDir()
	room := splitReadMin + 4099
	for _, size := range []int{0, 1, room / 2, room/2 - 1, room/2 + 1, room - 1, room, room + 7, 100} {
		content := []byte(strings.Repeat(fmt.Sprintf("%07d\n", size), size/8+1)[:size])
		path := filepath.Join(dir, fmt.Sprintf("f%d", size))
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{room, 64} {
			want, got := make([]byte, n), make([]byte, n)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			wn, werr := io.ReadFull(f, want)
			f.Close()
			f, err = os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			gn, gerr := readFull(f, got)
			f.Close()
			if wn != gn || werr != gerr || string(want[:wn]) != string(got[:gn]) {
				t.Errorf("file of %d, room %d: io.ReadFull %d, %v; readFull %d, %v", size, n, wn, werr, gn, gerr)
			}
		}
	}
}

// TestReadCappedSizes reads files around the cap it is given: up to it
// whole, past it refused.
func TestReadCappedSizes(t *testing.T) {
	dir := t.TempDir()
	limit := int64(splitReadMin + 10)
	for _, size := range []int64{0, limit - 1, limit, limit + 1} {
		path := filepath.Join(dir, fmt.Sprintf("f%d", size))
		content := []byte(strings.Repeat("x", int(size)))
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadCapped(f, path, limit)
		f.Close()
		switch {
		case size > limit && (err == nil || !strings.Contains(err.Error(), "more than nictab reads")):
			t.Errorf("%d bytes over a cap of %d: %v", size, limit, err)
		case size <= limit && (err != nil || string(got) != string(content)):
			t.Errorf("%d bytes under a cap of %d: %d bytes, %v", size, limit, len(got), err)
		}
	}
}
