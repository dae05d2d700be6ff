package kernel_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// netlinkNames are the prefixes of x/sys/unix's netlink names: the
// socket, its messages, flags, groups and attributes.
var netlinkNames = []string{"NETLINK_", "NLM_", "NLMSG", "RTM_", "RTNLGRP_", "RTA_", "IFA_", "FRA_", "AF_NETLINK", "SockaddrNetlink"}

// TestOnlyKernelSpeaksNetlink holds the data flow to what ARCHITECTURE.md
// says: no code of nictab's but this package (and bench/, whose raw
// writer is the yardstick nictab is measured against) imports
// vishvananda/netlink or uses x/sys/unix's netlink, and netcfg's model
// does not import x/sys/unix at all. Tests may.
func TestOnlyKernelSpeaksNetlink(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if mod, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !strings.HasPrefix(string(mod), "module github.com/nictab/nictab\n") {
		t.Fatalf("%s is not nictab's module root: %v", root, err)
	}
	fset := token.NewFileSet()
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || rel == "bench" || rel == "netcfg/kernel") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		unix := ""
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			switch {
			case p == "github.com/vishvananda/netlink" || strings.HasPrefix(p, "github.com/vishvananda/netlink/"):
				t.Errorf("%s imports %s: only netcfg/kernel speaks netlink", rel, p)
			case p == "golang.org/x/sys/unix":
				if filepath.ToSlash(filepath.Dir(rel)) == "netcfg" {
					t.Errorf("%s imports %s: netcfg's model needs no system calls", rel, p)
				}
				unix = "unix"
				if im.Name != nil {
					unix = im.Name.Name
				}
			}
		}
		if unix == "" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == unix {
				for _, pre := range netlinkNames {
					if strings.HasPrefix(sel.Sel.Name, pre) {
						t.Errorf("%s: unix.%s: only netcfg/kernel speaks netlink", fset.Position(sel.Pos()), sel.Sel.Name)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read only %d files under %s: not the repository", files, root)
	}
}
