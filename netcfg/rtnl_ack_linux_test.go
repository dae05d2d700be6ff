//go:build linux

package netcfg_test

import (
	"net/netip"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// TestExecWindowFitsReceiveBuffer writes 20k routes with the window the
// socket chose; had a window of ACKs not fitted the receive buffer, the
// kernel would have dropped some and Exec would have had to read back.
func TestExecWindowFitsReceiveBuffer(t *testing.T) {
	ns := scaleNS(t)
	k := openScale(t, ns)
	routes := scaleRoutes(20_000, scaleTable)
	ops := make([]netcfg.Op, len(routes))
	for i := range routes {
		ops[i] = netcfg.Op{Kind: netcfg.OpAddRoute, Route: &routes[i]}
	}
	if r := k.Exec(ops); r.Failed != nil || r.Done != len(ops) || len(r.Stray) > 0 {
		t.Fatalf("Exec = done %d, failed %v, stray %d; want all %d done", r.Done, r.Failed, len(r.Stray), len(ops))
	}
	assertTableHolds(t, k, routes, netcfg.ExecResult{Done: len(routes)})
	if n := netcfg.LostACKWindows(k); n != 0 {
		t.Errorf("%d windows lost ACKs", n)
	}
}

// TestExecSettlesLostACKs squeezes the receive buffer far below a window of
// ACKs, so the kernel drops most of them (ENOBUFS), and puts a route the
// kernel refuses among them. Exec must still say exactly which ops took
// effect: none is taken as done that is not in the kernel, and the refused
// one is reported.
func TestExecSettlesLostACKs(t *testing.T) {
	ns := scaleNS(t)
	k := openScale(t, ns)
	if err := netcfg.SqueezeExecWindow(k, 4096, 1024); err != nil {
		t.Fatal(err)
	}
	routes := scaleRoutes(3_000, scaleTable)
	routes[2_500].Gw = netip.MustParseAddr("10.1.0.1") // not on-link
	ops := make([]netcfg.Op, len(routes))
	for i := range routes {
		ops[i] = netcfg.Op{Kind: netcfg.OpAddRoute, Route: &routes[i]}
	}
	r := k.Exec(ops)
	if netcfg.LostACKWindows(k) == 0 {
		t.Fatal("the kernel dropped no ACK: the test proves nothing")
	}
	if r.Failed == nil || r.Failed.Index != 2_500 || r.Done != 2_500 {
		t.Fatalf("Exec = done %d, failed %v; want op 2500 refused after 2500 done", r.Done, r.Failed)
	}
	assertTableHolds(t, k, routes, r)
	// The deletes of what landed go through the same squeezed socket.
	var dels []netcfg.Op
	for i := range r.Done {
		dels = append(dels, netcfg.Op{Kind: netcfg.OpDelRoute, Route: &routes[i]})
	}
	for _, i := range r.Stray {
		dels = append(dels, netcfg.Op{Kind: netcfg.OpDelRoute, Route: &routes[i]})
	}
	if d := k.Exec(dels); d.Failed != nil || d.Done != len(dels) {
		t.Fatalf("deleting what landed: done %d of %d, failed %v", d.Done, len(dels), d.Failed)
	}
	assertTableHolds(t, k, routes, netcfg.ExecResult{})
}
