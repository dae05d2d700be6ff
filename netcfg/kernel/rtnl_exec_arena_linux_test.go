//go:build linux

package kernel

import "testing"

func TestReserveArenaHoldsTheRestAtTheirAverage(t *testing.T) {
	const total = 100_000
	for _, c := range []struct {
		name       string
		done, size int // requests in the arena, bytes each
		lo, hi     int // the room the rest must find, at least and at most
	}{
		{"one route", 1, 64, total * 64, total * 64 * 5 / 4},
		{"a thousand routes", 1000, 64, total * 64, total * 64 * 5 / 4},
		{"a large first request", 1, 1500, total * 64, total * 256 * 5 / 4},
		{"large requests, once many are in", 2000, 600, total * 600, total * 600 * 5 / 4},
	} {
		arena := make([]byte, c.done*c.size)
		got := reserveArena(arena, c.done, total)
		if len(got) != len(arena) {
			t.Errorf("%s: the arena holds %d bytes after, %d before", c.name, len(got), len(arena))
		}
		if room := cap(got); room < c.lo || room > c.hi {
			t.Errorf("%s: room for %d bytes, want %d to %d", c.name, room, c.lo, c.hi)
		}
	}
}
