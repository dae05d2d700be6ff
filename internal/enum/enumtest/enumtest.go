// Package enumtest checks that a type's text methods read its enum table,
// for the tests of each package that names values with one.
package enumtest

import (
	"encoding"
	"testing"

	"github.com/nictab/nictab/internal/enum"
)

// RoundTrip checks that every value of an enum that has a name reads
// back as itself through MarshalText and UnmarshalText, and that a value
// without one is written as its number (after the type's prefix).
func RoundTrip[T ~uint8, P interface {
	*T
	encoding.TextUnmarshaler
}](t *testing.T, e *enum.Table[T], unnamed T, want string) {
	t.Helper()
	for v, name := range e.Names {
		b, err := any(v).(encoding.TextMarshaler).MarshalText()
		if err != nil || string(b) != name {
			t.Errorf("%s %d: marshals to %q, %v; want %q", e.What, v, b, err, name)
		}
		var back T
		if err := P(&back).UnmarshalText(b); err != nil || back != v {
			t.Errorf("%s %q: reads back as %d, %v; want %d", e.What, name, back, err, v)
		}
	}
	if got := e.Text(unnamed); got != want {
		t.Errorf("%s %d without a name: %q, want %q", e.What, unnamed, got, want)
	}
	var x T
	if err := P(&x).UnmarshalText([]byte("no such name")); err == nil {
		t.Errorf("%s: an unknown name is accepted", e.What)
	}
}
