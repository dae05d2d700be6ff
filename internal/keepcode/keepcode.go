// Package keepcode makes the short code that keeps a change made over SSH.
// A person who types it back has read it on the screen, which proves the
// server's replies reach the terminal after the change; keystrokes typed
// blind, when the replies are cut, cannot know it.
package keepcode

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"unicode"
)

// Alphabet has no Y or N, the answers of the old question, and none of the
// look-alikes 0/O/Q/D, 1/I/L, 2/Z, 5/S, 6/G, 8/B, U/V.
const Alphabet = "ACEFHJKMPRTWX3479"

// Len is the code's length: 17⁴ = 83521 codes, and one wrong character
// reverts, so a blind guess keeps with a chance of about 1 in 83521.
const Len = 4

// New draws a code from crypto/rand.
func New() (string, error) {
	b := make([]byte, Len)
	n := big.NewInt(int64(len(Alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", fmt.Errorf("draw a keep code: %w", err)
		}
		b[i] = Alphabet[v.Int64()]
	}
	return string(b), nil
}

// Step is what one typed character does to a code typed so far.
type Step int

const (
	// Partial: the character is the next one of the code.
	Partial Step = iota
	// Complete: the character ends the code; the change may be kept.
	Complete
	// Wrong: anything else; the change must be reverted.
	Wrong
)

// Next checks the character r typed after typed (the correct characters
// so far) against code; letters count in either case.
func Next(code, typed string, r rune) Step {
	if len(typed) >= len(code) {
		return Wrong
	}
	if u := unicode.ToUpper(r); u > unicode.MaxASCII || byte(u) != code[len(typed)] {
		return Wrong
	}
	if len(typed)+1 == len(code) {
		return Complete
	}
	return Partial
}
