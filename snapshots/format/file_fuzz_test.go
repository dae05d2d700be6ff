package format

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse feeds Parse arbitrary bytes, starting from every good and bad
// file in testdata. Parse must never panic, must report only *FileErrors,
// and whatever it accepts must come back unchanged through Marshal and
// Parse, with Marshal giving the same bytes the second time.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		files, err := filepath.Glob(filepath.Join("testdata", "files", dir, "*.yaml"))
		if err != nil {
			f.Fatal(err)
		}
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, e := range errs {
				var fe *FileError
				if !errors.As(e, &fe) || error(fe) != e {
					t.Fatalf("error %q is a %T, not a *FileError", e, e)
				}
			}
			return
		}
		out, err := Marshal(s)
		if err != nil {
			t.Fatalf("Marshal of an accepted file: %v\ninput:\n%s", err, data)
		}
		back, err := Parse("fuzz.yaml", out)
		if err != nil {
			t.Fatalf("Parse(Marshal(s)): %v\ninput:\n%s\nwritten:\n%s", err, data, out)
		}
		if diff := cmp.Diff(s, back, snapshotOpts); diff != "" {
			t.Fatalf("Parse(Marshal(s)) differs (-first +second):\n%s\ninput:\n%s\nwritten:\n%s", diff, data, out)
		}
		again, err := Marshal(back)
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("Marshal is not stable (err %v):\n%s\n----\n%s", err, out, again)
		}
	})
}
