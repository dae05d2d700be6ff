package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteOutFileModes: export -o keeps the mode of a file it replaces,
// and gives a new one the default less the umask, as open(2) would.
func TestWriteOutFileModes(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	fresh := filepath.Join(dir, "fresh.sh")
	if err := writeOutFile(fresh, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "kept.nix")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(existing, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := writeOutFile(existing, []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{fresh: 0o700, existing: 0o640} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", filepath.Base(path), fi.Mode().Perm(), want)
		}
	}
	if umask() != 0o077 {
		t.Errorf("umask() = %04o, want 0077", umask())
	}
}
