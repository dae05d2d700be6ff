package nstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// MainWithNictab is a TestMain for packages whose tests run the real
// binary as a person would: it builds the nictab command at pkg (a path
// relative to the test's package) once, sets *bin to it, runs the tests
// and removes the build. A build that fails stops the tests with its
// compiler output.
func MainWithNictab(m *testing.M, pkg string, bin *string) {
	dir, err := os.MkdirTemp("", "nictab-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = filepath.Join(dir, "nictab")
	build := exec.Command("go", "build", "-o", *bin, pkg)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build nictab:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
