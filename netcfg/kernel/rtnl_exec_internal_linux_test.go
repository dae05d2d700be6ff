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

// TestSpreadSendsEveryStepth holds spread to its definition, the k-th
// sent being run[k·step mod n], for runs of many lengths.
func TestSpreadSendsEveryStepth(t *testing.T) {
	for _, n := range []int{3, 4, 5, 10, 97, 100, 1000, 16384, 100_000, 131_072} {
		run := make([]int32, n)
		for i := range run {
			run[i] = int32(3 * i)
		}
		spread(run)
		step := n * 618 / 1000
		for gcd(step, n) != 1 {
			step++
		}
		for k := range run {
			if want := int32(3 * (k * step % n)); run[k] != want {
				t.Fatalf("n=%d: sent %d-th is %d, want %d", n, k, run[k], want)
			}
		}
	}
}
