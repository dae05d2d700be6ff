// Package enum gives names to the small numbers the kernel or nictab
// names (scopes, route types, verdicts...): one table per type, read by
// String, Parse, MarshalText and UnmarshalText alike, so a name is written
// in one place.
package enum

import (
	"fmt"
	"strconv"
)

// Table is the text form of one type's values.
type Table[T ~uint8] struct {
	// What the values are, for errors: "scope".
	What  string
	Names map[T]string
	// Prefix is written before the number of a value without a name.
	Prefix string
	// Aliases are further names the parser accepts.
	Aliases map[string]T
	// Numbers makes the parser accept plain numbers too.
	Numbers bool
	// Want ends the error with what would have been accepted.
	Want string
}

// Text is the value's name, else its number after Prefix.
func (e *Table[T]) Text(v T) string {
	if n, ok := e.Names[v]; ok {
		return n
	}
	return e.Prefix + strconv.Itoa(int(v))
}

// Parse reads a name, an alias or, with Numbers, a number.
func (e *Table[T]) Parse(s string) (T, error) {
	for v, n := range e.Names {
		if n == s {
			return v, nil
		}
	}
	if v, ok := e.Aliases[s]; ok {
		return v, nil
	}
	if e.Numbers {
		if n, err := strconv.ParseUint(s, 0, 8); err == nil {
			return T(n), nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q%s", e.What, s, e.Want)
}

// Unmarshal is UnmarshalText: *p is set even on error, as the parser
// gives it (zero).
func (e *Table[T]) Unmarshal(p *T, b []byte) error {
	v, err := e.Parse(string(b))
	*p = v
	return err
}
