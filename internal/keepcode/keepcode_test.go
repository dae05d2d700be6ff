package keepcode

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := New()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != Len {
			t.Fatalf("code %q has %d characters, want %d", c, len(c), Len)
		}
		for _, r := range c {
			if !strings.ContainsRune(Alphabet, r) {
				t.Fatalf("code %q has %q, outside %q", c, r, Alphabet)
			}
		}
		seen[c] = true
	}
	// 200 draws from 83521 codes: a repeat or two is chance, many is a
	// broken source.
	if len(seen) < 190 {
		t.Errorf("200 codes drawn, only %d different", len(seen))
	}
	for _, bad := range "YNOIL0125SB86GQDUV" {
		if strings.ContainsRune(Alphabet, bad) {
			t.Errorf("the alphabet holds %q", bad)
		}
	}
}

func TestNext(t *testing.T) {
	const code = "K7XA"
	typed := ""
	for i, r := range "k7xA" {
		want := Partial
		if i == 3 {
			want = Complete
		}
		if got := Next(code, typed, r); got != want {
			t.Fatalf("after %q, %q: %v, want %v", typed, r, got, want)
		}
		typed += string(code[i])
	}
	for _, tc := range []struct {
		typed string
		r     rune
	}{{"", 'y'}, {"", '\r'}, {"", '\n'}, {"K", 'X'}, {"K7XA", 'K'}, {"", 'ķ'}, {"", 0x1b}, {"K7", 0x04}} {
		if got := Next(code, tc.typed, tc.r); got != Wrong {
			t.Errorf("after %q, %q: %v, want Wrong", tc.typed, tc.r, got)
		}
	}
}
