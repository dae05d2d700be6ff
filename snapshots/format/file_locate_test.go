package format

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

func TestLocate(t *testing.T) {
	s := loadGood(t, "person-every-field.yaml")
	file := filepath.Join("testdata", "files", "good", "person-every-field.yaml")
	cases := []struct {
		field     string
		line, col int
	}{
		{"nics[0].gateway", 14, 14},
		{"nics[0].gateway[1]", 14, 29},
		{"nics[1].gateway[1]", 19, 14}, // one gateway, written without a list
		{"nics[1].table", 18, 12},
		{"nics[2].gateway", 24, 5}, // given empty: the key
		{"nics[9].name", 12, 3},    // no such NIC: the list
		{"tables[0].name", 8, 11},
		{"tables[1].name", 9, 5}, // not given: its table
		{"rules[0].priority", 28, 16},
		{"rules[1].priority", 29, 5},
		{"routes[0]", 32, 5},
		{"routes[5].scope", 37, 56},
		{"bogus", 0, 0},
	}
	var in []error
	for _, c := range cases {
		in = append(in, &netcfg.FieldError{Field: c.field, Msg: "problem with " + c.field})
	}
	plain := errors.New("not about a field")
	wrapped := fmt.Errorf("resolve: %w", &netcfg.FieldError{Field: "nics[0].name", Msg: "x"})
	in = append(in, plain, wrapped)

	got := fileErrorsOrPassed(t, s.Locate(errors.Join(in...)))
	if len(got) != len(in) {
		t.Fatalf("%d errors out, %d in", len(got), len(in))
	}
	for i, c := range cases {
		fe, ok := got[i].(*FileError)
		if !ok {
			t.Errorf("%s: %T, want *FileError", c.field, got[i])
			continue
		}
		if fe.File != file || fe.Line != c.line || fe.Column != c.col || fe.Field != c.field || fe.Msg != "problem with "+c.field {
			t.Errorf("%s: got %s:%d:%d %s %q, want %s:%d:%d", c.field, fe.File, fe.Line, fe.Column, fe.Field, fe.Msg, file, c.line, c.col)
		}
		var fieldErr *netcfg.FieldError
		if !errors.As(fe, &fieldErr) || fieldErr.Field != c.field {
			t.Errorf("%s: the FieldError is no longer reachable with errors.As", c.field)
		}
	}
	if got[len(cases)] != plain || got[len(cases)+1] != wrapped {
		t.Errorf("other errors changed: %v, %v", got[len(cases)], got[len(cases)+1])
	}
}

func fileErrorsOrPassed(t *testing.T, err error) []error {
	t.Helper()
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Locate of a join returned %T", err)
	}
	return j.Unwrap()
}

func TestLocateSingleAndInMemory(t *testing.T) {
	s := loadGood(t, "spec-example.yaml")
	err := s.Locate(&netcfg.FieldError{Field: "nics[1].table", Msg: "bad"})
	if want := filepath.Join("testdata", "files", "good", "spec-example.yaml") + ":14:12: nics[1].table: bad"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if s.Locate(nil) != nil {
		t.Error("Locate(nil) is not nil")
	}
	mem := &Snapshot{Version: Version}
	err = mem.Locate(&netcfg.FieldError{Field: "nics[0]", Msg: "bad"})
	if fe, ok := err.(*FileError); !ok || fe.Error() != "nics[0]: bad" {
		t.Errorf("in memory: %#v", err)
	}
}

// TestLocateResolveErrors runs the real data flow: a file, resolved
// against a live state it does not fit, with the resolver's errors placed
// on the file's lines.
func TestLocateResolveErrors(t *testing.T) {
	s := loadGood(t, "spec-example.yaml")
	live := netcfg.State{Links: []netcfg.Link{{Index: 2, Name: "eno1", Up: true, Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("10.0.0.2/24")}}}}}
	_, err := netcfg.Resolve(s.Intent, live, netcfg.DefaultPriorities)
	if err == nil {
		t.Fatal("Resolve accepted a NIC that is not there")
	}
	at := map[string][2]int{}
	for _, e := range fileErrorsOrPassed(t, s.Locate(err)) {
		fe, ok := e.(*FileError)
		if !ok {
			t.Fatalf("%v is a %T", e, e)
		}
		at[fe.Field] = [2]int{fe.Line, fe.Column}
	}
	want := map[string][2]int{
		"nics[0].gateway": {9, 14},  // 192.168.10.1 is off eno1's 10.0.0.0/24
		"nics[1].name":    {13, 11}, // there is no enp2s0
	}
	for f, pos := range want {
		if at[f] != pos {
			t.Errorf("%s at %v, want %v (all: %v)", f, at[f], pos, at)
		}
	}
}
