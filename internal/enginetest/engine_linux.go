//go:build linux

package enginetest

import (
	"net/netip"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// Open opens ns's kernel for the test, closed when it ends.
func Open(t *testing.T, ns *nstest.NS) netcfg.Kernel {
	t.Helper()
	k, err := kernel.Open(ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// SpecIntent is SPEC.md's example: eno1 to table 13 vpn, enp2s0 to 14 lan.
func SpecIntent() netcfg.Intent {
	return netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14, Name: "lan"}},
		NICs: []netcfg.NICIntent{
			{Name: "eno1", Table: netcfg.TableRef{ID: 13}, Gateways: []netip.Addr{netip.MustParseAddr("192.168.10.1")}, Select: []netcfg.Selector{netcfg.SelectFrom}},
			{Name: "enp2s0", Table: netcfg.TableRef{ID: 14}},
		},
	}
}

// Engine is a sandbox namespace, its kernel and its names files.
type Engine struct {
	T     *testing.T
	NS    *nstest.NS
	K     netcfg.Kernel
	Paths netcfg.NamePaths
}

// New makes a sandbox namespace for the test.
func New(t *testing.T) *Engine {
	ns := nstest.Sandbox(t)
	return &Engine{T: t, NS: ns, K: Open(t, ns), Paths: netcfg.DefaultNamePaths(ns.Name)}
}

// Names reads the namespace's names files.
func (e *Engine) Names() netcfg.Names { return netcfg.LoadNames(e.Paths) }

// Plan detects, resolves and plans in as the engine does.
func (e *Engine) Plan(in netcfg.Intent) netcfg.Plan {
	e.T.Helper()
	live, err := netcfg.Detect(e.K, e.Names(), netcfg.DetectOptions{Tables: []uint32{13, 14}, Owned: true})
	if err != nil {
		e.T.Fatal(err)
	}
	d, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err != nil {
		e.T.Fatal(err)
	}
	return netcfg.PlanChanges(live, d)
}

// Apply applies p through k with the namespace's names files.
func (e *Engine) Apply(k netcfg.Kernel, p netcfg.Plan) (netcfg.ApplyResult, error) {
	return netcfg.Apply(k, p, netcfg.ApplyOptions{LoadNames: e.Names, Names: netcfg.NamesFile{Paths: e.Paths}})
}
