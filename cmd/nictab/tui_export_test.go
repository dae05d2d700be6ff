package main

import (
	"io"
	"testing"

	nictabapp "github.com/nictab/nictab/internal/app"
)

// TestTUIExportDefaultIsTheCLIs: the TUI's export opens in the flavour
// `nictab export nix` picks for the same snapshot, with the same text (a
// namespace is not managed by systemd-networkd, so both are scripted).
func TestTUIExportDefaultIsTheCLIs(t *testing.T) {
	c := newCLI(t)
	id := savedID(t, c)
	r := c.run("export", "nix", id)
	if r.code != 0 {
		t.Fatal(r)
	}
	a := &app{stdin: nil, out: io.Discard, errOut: io.Discard, netns: c.ns.Name, stateDir: c.state}
	text, flavor, err := nictabapp.NewTUIBackend(a.config(), nictabapp.TUIOptions{}).Export(id, "")
	if err != nil {
		t.Fatal(err)
	}
	if flavor != "scripted" {
		t.Errorf("the TUI picks %q for a snapshot taken without systemd-networkd", flavor)
	}
	if text != r.stdout {
		t.Errorf("the TUI's export differs from the CLI's:\nTUI:\n%s\nCLI:\n%s", text, r.stdout)
	}
}
