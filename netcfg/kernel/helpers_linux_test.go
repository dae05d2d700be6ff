//go:build linux

package kernel_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// The helpers below are netcfg's test harness for an engine in a sandbox
// namespace (netcfg/apply_linux_test.go, detect_linux_test.go,
// textstate_test.go), which the monitor's tests drive too; a test package
// cannot import another's.

func openNS(t *testing.T, ns *nstest.NS) netcfg.Kernel {
	t.Helper()
	k, err := kernel.Open(ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// specIntent is SPEC.md's example: eno1 to table 13 vpn, enp2s0 to 14 lan.
func specIntent() netcfg.Intent {
	return netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14, Name: "lan"}},
		NICs: []netcfg.NICIntent{
			{Name: "eno1", Table: netcfg.TableRef{ID: 13}, Gateways: []netip.Addr{netip.MustParseAddr("192.168.10.1")}, Select: []netcfg.Selector{netcfg.SelectFrom}},
			{Name: "enp2s0", Table: netcfg.TableRef{ID: 14}},
		},
	}
}

type engineT struct {
	t     *testing.T
	ns    *nstest.NS
	k     netcfg.Kernel
	paths netcfg.NamePaths
}

func newEngineT(t *testing.T) *engineT {
	ns := nstest.Sandbox(t)
	return &engineT{t: t, ns: ns, k: openNS(t, ns), paths: netcfg.DefaultNamePaths(ns.Name)}
}

func (e *engineT) names() netcfg.Names { return netcfg.LoadNames(e.paths) }

// plan detects, resolves and plans in as the engine does.
func (e *engineT) plan(in netcfg.Intent) netcfg.Plan {
	e.t.Helper()
	live, err := netcfg.Detect(e.k, e.names(), netcfg.DetectOptions{Tables: []uint32{13, 14}, Owned: true})
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err != nil {
		e.t.Fatal(err)
	}
	return netcfg.PlanChanges(live, d)
}

func (e *engineT) apply(k netcfg.Kernel, p netcfg.Plan) (netcfg.ApplyResult, error) {
	return netcfg.Apply(k, p, netcfg.ApplyOptions{LoadNames: e.names, Names: netcfg.NamesFile{Paths: e.paths}})
}

// planText is a plan as the golden files of netcfg/testdata/plan hold
// it: one line per change, then the kernel ops in order, then notes and
// conflicts.
func planText(p netcfg.Plan) string {
	var b strings.Builder
	for _, c := range p.Changes {
		if c.Action == netcfg.ChangeReplace {
			fmt.Fprintf(&b, "~ %s => %s\n", c.Before, c.After)
		} else {
			fmt.Fprintf(&b, "%s %s\n", c.Action.Mark(), c.Subject())
		}
	}
	b.WriteString("-- ops\n")
	for _, o := range p.Ops() {
		b.WriteString(o.Command() + "\n")
	}
	for _, n := range p.Notes {
		b.WriteString("note: " + n.Text + "\n")
	}
	for _, c := range p.Conflicts {
		b.WriteString("conflict: " + c.Text + "\n")
	}
	return b.String()
}
