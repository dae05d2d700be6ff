package netcfg

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestLazyPriorIsFingerprint checks that a plan made from a Watched
// state, whose Prior is made when first read, has the Prior PlanChanges
// makes at once, read from copies and goroutines alike, and encodes to
// the same bytes.
func TestLazyPriorIsFingerprint(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 18))
	for i := range 30 {
		n := rng.IntN(6000)
		live := State{Routes: randomRoutes(rng, n), Complete: []uint32{100, 101, 102}, AllOwned: rng.IntN(2) == 0}
		want := Desired{Owned: Owned{Routes: randomRoutes(rng, rng.IntN(50))}, Tables: []uint32{100}}
		fp := Fingerprint(live)
		eager := PlanChanges(live, want)
		w := &Watched{State: live}
		lazy := w.Plan(want)
		if lazy.Prior.c.fp != "" {
			t.Fatalf("state %d: the Prior was made before anything read it", i)
		}
		copies := []Plan{lazy, lazy}
		var wg sync.WaitGroup
		got := make([]string, 8)
		for j := range got {
			wg.Go(func() { got[j] = copies[j%2].Prior.String() })
		}
		wg.Wait()
		for j, g := range got {
			if g != fp {
				t.Fatalf("state %d, read %d: lazy Prior %q, fingerprint %q", i, j, g, fp)
			}
		}
		if eager.Prior.String() != fp {
			t.Fatalf("state %d: PlanChanges' Prior %q, fingerprint %q", i, eager.Prior.String(), fp)
		}
		if again := w.Plan(want); again.Prior.c != lazy.Prior.c || again.Prior.c.live.Routes != nil {
			t.Errorf("state %d: a second plan of the same Watched made its fingerprint again", i)
		}
		a, err := json.Marshal(eager)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(w.Plan(want))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("state %d: lazy plan encodes to\n%s\nwant\n%s", i, b, a)
		}
	}
}

// TestPriorEncodes checks that a Prior encodes as the string it replaced
// did, the zero one included, and decodes back.
func TestPriorEncodes(t *testing.T) {
	type old struct {
		Prior string `json:"prior"`
	}
	type now struct {
		Prior Prior `json:"prior"`
	}
	for _, fp := range []string{"", "0123456789abcdef0123456789abcdef", "a\"<b>&"} {
		var p Prior
		if fp != "" {
			p = PriorOf(fp)
		}
		a, _ := json.Marshal(old{fp})
		b, err := json.Marshal(now{p})
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%q encodes to %s (%v), want %s", fp, b, err, a)
		}
		var back now
		if err := json.Unmarshal(b, &back); err != nil || back.Prior.String() != fp {
			t.Errorf("%s decodes to %q (%v)", b, back.Prior.String(), err)
		}
	}
}
