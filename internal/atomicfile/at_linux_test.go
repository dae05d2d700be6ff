//go:build linux

package atomicfile

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// A staged file is under a temporary name only, until Commit puts it
// under its own (over what was there) or Discard removes it.
func TestStageCommitDiscard(t *testing.T) {
	dir := t.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := StageAt(d, "a.yaml", []byte("new"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	names := dirNames(t, dir)
	if len(names) != 2 || !slices.Contains(names, "a.yaml") {
		t.Fatalf("after StageAt the directory holds %q; want a.yaml and one temporary file", names)
	}
	for _, n := range names {
		if IsTemporary(n) != (n != "a.yaml") {
			t.Errorf("IsTemporary(%q) = %v", n, IsTemporary(n))
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.yaml")); string(b) != "old" {
		t.Errorf("a.yaml holds %q before Commit; want it untouched", b)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.yaml")); string(b) != "new" {
		t.Errorf("a.yaml holds %q after Commit; want %q", b, "new")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"a.yaml"}) {
		t.Errorf("after Commit the directory holds %q", names)
	}
	fi, err := os.Stat(filepath.Join(dir, "a.yaml"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("a.yaml: %v, %v; want mode 0600", fi.Mode(), err)
	}

	s, err = StageAt(d, "b.yaml", []byte("gone"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"a.yaml"}) {
		t.Errorf("after Discard the directory holds %q; want a.yaml alone", names)
	}
	if err := s.Discard(); err != nil {
		t.Errorf("a second Discard: %v", err)
	}
	for _, n := range []string{"a.yaml", ".a.yaml", "a.yaml.tmp-1", ".journal.json"} {
		if IsTemporary(n) {
			t.Errorf("IsTemporary(%q) = true", n)
		}
	}
}
