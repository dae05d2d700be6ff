package format

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// want is what a bad file must produce, read from the .want file beside
// it: the first error's line, column, field and message, how many errors
// there are in all (1 unless "count:" says otherwise), and whether the
// error is ErrChecksum.
type want struct {
	line, column int
	field, msg   string
	count        int
	checksum     bool
}

func readWant(t *testing.T, path string) want {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("every bad file needs a .want beside it: %v", err)
	}
	w := want{count: 1}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			t.Fatalf("%s: malformed line %q", path, sc.Text())
		}
		atoi := func() int {
			n, err := strconv.Atoi(val)
			if err != nil {
				t.Fatalf("%s: %s: %v", path, key, err)
			}
			return n
		}
		switch key {
		case "line":
			w.line = atoi()
		case "column":
			w.column = atoi()
		case "field":
			w.field = val
		case "msg":
			w.msg = val
		case "count":
			w.count = atoi()
		case "is":
			w.checksum = val == "ErrChecksum"
		default:
			t.Fatalf("%s: unknown key %q", path, key)
		}
	}
	if w.msg == "" {
		t.Fatalf("%s: no msg:", path)
	}
	return w
}

// fileErrors returns the errors Parse joined, checking each is a
// *FileError.
func fileErrors(t *testing.T, err error) []*FileError {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var out []*FileError
	for _, e := range errs {
		fe, ok := e.(*FileError)
		if !ok {
			t.Fatalf("error %v is a %T, want *FileError", e, e)
		}
		out = append(out, fe)
	}
	return out
}

func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "files", "bad", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("only %d bad files", len(files))
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			w := readWant(t, strings.TrimSuffix(path, ".yaml")+".want")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(path, data)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", s)
			}
			errs := fileErrors(t, err)
			if len(errs) != w.count {
				t.Errorf("%d errors, want %d: %v", len(errs), w.count, err)
			}
			fe := errs[0]
			if fe.File != path || fe.Line != w.line || fe.Column != w.column || fe.Field != w.field || !strings.Contains(fe.Msg, w.msg) {
				t.Errorf("got  %s:%d:%d field %q msg %q\nwant %s:%d:%d field %q msg %q",
					fe.File, fe.Line, fe.Column, fe.Field, fe.Msg, path, w.line, w.column, w.field, w.msg)
			}
			if errors.Is(err, ErrChecksum) != w.checksum {
				t.Errorf("errors.Is(err, ErrChecksum) = %v, want %v", !w.checksum, w.checksum)
			}
		})
	}
}
