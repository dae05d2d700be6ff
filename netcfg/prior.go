package netcfg

import "sync"

// Prior is a plan's fingerprint of the live state it was made from
// (Fingerprint). A plan made from a Watched state holds it unmade until
// something reads it: the CLI's apply and rollback with a quiet change
// monitor never do, and the fingerprint of 100k routes is some 20 ms of
// CPU.
//
// Copies of a Prior share one cell, so a plan copied around makes its
// fingerprint once, whichever copy reads it first; the cell's address is
// also what Apply recognises a plan made from w.State by (currentPrior).
// It encodes as the fingerprint's text, as the string it replaced did.
type Prior struct{ c *priorCell }

type priorCell struct {
	once sync.Once
	// live is the state to fingerprint, dropped once made.
	live State
	fp   string
}

// PriorOf returns the Prior whose fingerprint is fp.
func PriorOf(fp string) Prior {
	c := &priorCell{fp: fp}
	c.once.Do(func() {})
	return Prior{c}
}

// lazyPrior returns the Prior of live, made on first read. live must not
// change until then: only a Watched state, which nothing changes, is
// fingerprinted this way.
func lazyPrior(live State) Prior { return Prior{&priorCell{live: live}} }

// String returns the fingerprint, making it on the first call; it is safe
// for concurrent use. The zero Prior's is empty.
func (p Prior) String() string {
	if p.c == nil {
		return ""
	}
	p.c.once.Do(func() {
		p.c.fp = Fingerprint(p.c.live)
		p.c.live = State{}
	})
	return p.c.fp
}

// MarshalText returns the fingerprint.
func (p Prior) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (p *Prior) UnmarshalText(b []byte) error {
	*p = PriorOf(string(b))
	return nil
}
