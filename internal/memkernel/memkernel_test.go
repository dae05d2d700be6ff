//go:build linux

package memkernel_test

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/nictab/nictab/internal/memkernel"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"golang.org/x/sys/unix"
)

func routeOp(dst string, table uint32) netcfg.Op {
	return netcfg.Op{Kind: netcfg.OpAddRoute, Route: &netcfg.Route{Table: table, Type: netcfg.RouteUnicast,
		Dst: netip.MustParsePrefix(dst), Dev: "eno1", Scope: netcfg.ScopeLink, Proto: netcfg.ProtoNictab}}
}

// TestFaultsAndWindows: an injected fault refuses its op and changes
// nothing; in one window the ops after it still run (Stray), op by op
// nothing after it is sent; only accepted ops are logged.
func TestFaultsAndWindows(t *testing.T) {
	ops := []netcfg.Op{routeOp("10.1.0.0/16", 100), routeOp("10.2.0.0/16", 100), routeOp("10.3.0.0/16", 100)}
	for _, c := range []struct {
		window int
		stray  []int
		logged []string
	}{
		{0, []int{2}, []string{ops[0].Command(), ops[2].Command()}},
		{1, nil, []string{ops[0].Command()}},
	} {
		k := memkernel.Sandbox()
		k.Window = c.window
		k.FailAt(1, unix.ENOBUFS)
		res := k.Exec(ops)
		if res.Done != 1 || res.Failed == nil || res.Failed.Index != 1 || !errors.Is(res.Failed.Err, unix.ENOBUFS) || !slices.Equal(res.Stray, c.stray) {
			t.Errorf("window %d: result %+v, want op 1 refused with ENOBUFS and strays %v", c.window, res, c.stray)
		}
		if got := k.Log(); !slices.Equal(got, c.logged) {
			t.Errorf("window %d: log %q, want %q", c.window, got, c.logged)
		}
		n := 0
		if err := k.Routes(netcfg.RouteQuery{Table: 100}, func(*netcfg.Route) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n != len(c.logged) {
			t.Errorf("window %d: table 100 holds %d routes, want %d", c.window, n, len(c.logged))
		}
		// The fault was used up: the same op goes through now.
		if res := k.Exec(ops[1:2]); res.Failed != nil {
			t.Errorf("window %d: after the fault: %v", c.window, res.Failed)
		}
	}
}

// TestForeignBetweenCalls: BeforeExec runs before the batch, so a foreign
// route it adds is there when nictab's add of the same identity arrives.
func TestForeignBetweenCalls(t *testing.T) {
	k := memkernel.Sandbox()
	foreign := routeOp("10.1.0.0/16", 100)
	foreign.Route.Proto = netcfg.ProtoStatic
	k.BeforeExec = func(call int) {
		if call == 0 {
			if err := k.Foreign(foreign); err != nil {
				t.Error(err)
			}
		}
	}
	res := k.Exec([]netcfg.Op{routeOp("10.1.0.0/16", 100)})
	if res.Failed == nil || !netcfg.IsExistsErr(res.Failed.Err) {
		t.Fatalf("result %+v, want EEXIST", res)
	}
	if got := k.Log(); len(got) != 1 || got[0] != "# foreign: "+foreign.Command() {
		t.Errorf("log %q", got)
	}
}

// TestUnmodelledRefused: what memkernel does not model is refused, not
// guessed.
func TestUnmodelledRefused(t *testing.T) {
	k := memkernel.Sandbox()
	r := netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("2001:db8:a::/48"), Proto: netcfg.ProtoNictab,
		MultiPath: []netcfg.NextHop{{Gw: netip.MustParseAddr("fe80::1"), Dev: "eno1"}, {Gw: netip.MustParseAddr("fe80::2"), Dev: "enp2s0"}}}
	res := k.Exec([]netcfg.Op{{Kind: netcfg.OpAddRoute, Route: &r}})
	if res.Failed == nil || res.Failed.Err == nil {
		t.Fatal("an IPv6 multipath route was accepted")
	}
	var ke *kernel.Error
	if errors.As(res.Failed.Err, &ke) {
		t.Errorf("refused as if by the kernel (%v); want memkernel's own refusal", ke)
	}
}
