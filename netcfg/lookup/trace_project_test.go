//go:build linux

package lookup_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/enginetest"
	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/netcfg/lookup"
)

// TestProjectPlanKernel checks ProjectPlan against the kernel: the state it
// predicts for SPEC.md's example is the state the kernel holds once the
// plan is applied, and the paths traced through the prediction are the
// paths `ip route get` reports afterwards.
func TestProjectPlanKernel(t *testing.T) {
	ns := nstest.Sandbox(t)
	k, err := kernel.Open(ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	paths := netcfg.DefaultNamePaths(ns.Name)
	opts := lookup.TraceDetectOptions()
	opts.Tables = append(opts.Tables, 13, 14)
	opts.Owned = true
	live, err := netcfg.Detect(k, netcfg.LoadNames(paths), opts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := netcfg.Resolve(enginetest.SpecIntent(), live, netcfg.DefaultPriorities)
	if err != nil {
		t.Fatal(err)
	}
	plan := netcfg.PlanChanges(live, d)
	predicted := lookup.ProjectPlan(live, plan)
	if _, err := netcfg.Apply(k, plan, netcfg.ApplyOptions{LoadNames: func() netcfg.Names { return netcfg.LoadNames(paths) }, Names: netcfg.NamesFile{Paths: paths}}); err != nil {
		t.Fatal(err)
	}
	actual, err := netcfg.Detect(k, netcfg.LoadNames(paths), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ruleLines(predicted), ruleLines(actual); !slices.Equal(got, want) {
		t.Errorf("predicted rules:\n%s\nthe kernel's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := routeLines(predicted), routeLines(actual); !slices.Equal(got, want) {
		t.Errorf("predicted routes:\n%s\nthe kernel's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, id := range []uint32{13, 14} {
		if predicted.Names.TableName(id) != actual.Names.TableName(id) {
			t.Errorf("table %d: predicted name %q, the kernel's names file says %q", id, predicted.Names.TableName(id), actual.Names.TableName(id))
		}
	}

	for _, args := range []string{
		"8.8.8.8 from 192.168.10.2", "8.8.8.8 from 192.168.20.2", "8.8.8.8",
		"2001:4860::8888 from 2001:db8:10::2", "2001:4860::8888",
		"192.168.20.77 from 192.168.10.2", "10.9.9.9 from 192.168.10.99 iif enp2s0",
	} {
		pkt := packetOf(t, args)
		get, fib := kernelGet(t, ns, args)
		p, err := lookup.TraceWith(predicted, pkt, lookup.TraceOptions{Forwarding: nsForwarding(t, ns)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := compareTrace(&p, tracePacket{pkt: pkt, args: args}, get, fib); diff != "" {
			t.Errorf("ip route get %s after the apply: %s\nkernel %v\npredicted %s", args, diff, get, pathText(&p))
		}
	}
}

// nsForwarding reads whether the namespace forwards IPv4 from a device.
func nsForwarding(t *testing.T, ns *nstest.NS) func(string) bool {
	t.Helper()
	return func(dev string) bool {
		out, err := exec.Command("ip", "netns", "exec", ns.Name, "cat", "/proc/sys/net/ipv4/conf/"+dev+"/forwarding").Output()
		if err != nil {
			t.Fatalf("read forwarding of %s: %v", dev, err)
		}
		return strings.TrimSpace(string(out)) == "1"
	}
}

// packetOf reads `ip route get` arguments (dst, from, iif) into a Packet
// the way the kernel takes them.
func packetOf(t *testing.T, args string) netcfg.Packet {
	t.Helper()
	f := strings.Fields(args)
	p := netcfg.Packet{Dst: ip(f[0])}
	for i := 1; i+1 < len(f); i += 2 {
		switch f[i] {
		case "from":
			p.Src = ip(f[i+1])
		case "iif":
			p.IIF = f[i+1]
		default:
			t.Fatalf("packetOf: %q", f[i])
		}
	}
	if p.Dst.Is4() {
		p.IPProto = netcfg.ProtoUDP
	}
	return p
}
