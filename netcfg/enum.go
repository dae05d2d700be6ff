package netcfg

import (
	"fmt"
	"strconv"
)

// enum is the text form of a small number the kernel or nictab gives
// names to: one table per type, read by String, Parse, MarshalText and
// UnmarshalText alike, so a name is written in one place.
type enum[T ~uint8] struct {
	// what the values are, for errors: "scope".
	what  string
	names map[T]string
	// prefix is written before the number of a value without a name.
	prefix string
	// aliases are further names the parser accepts.
	aliases map[string]T
	// numbers makes the parser accept plain numbers too.
	numbers bool
	// want ends the error with what would have been accepted.
	want string
}

func (e *enum[T]) text(v T) string {
	if n, ok := e.names[v]; ok {
		return n
	}
	return e.prefix + strconv.Itoa(int(v))
}

func (e *enum[T]) parse(s string) (T, error) {
	for v, n := range e.names {
		if n == s {
			return v, nil
		}
	}
	if v, ok := e.aliases[s]; ok {
		return v, nil
	}
	if e.numbers {
		if n, err := strconv.ParseUint(s, 0, 8); err == nil {
			return T(n), nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q%s", e.what, s, e.want)
}

// unmarshal is UnmarshalText: *p is set even on error, as the parser
// gives it (zero).
func (e *enum[T]) unmarshal(p *T, b []byte) error {
	v, err := e.parse(string(b))
	*p = v
	return err
}
