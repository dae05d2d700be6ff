//go:build linux

package export

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
)

// scriptedService evaluates the scripted module with real Nix and returns
// its service's start script and the commands of its stop step, as NixOS
// would run them (script, preStop, postStop).
func scriptedService(t *testing.T, module string) (start string, stop []string) {
	t.Helper()
	nix := nixInstantiate(t)
	path := filepath.Join(t.TempDir(), "nictab.nix")
	if err := os.WriteFile(path, []byte(module), 0o644); err != nil {
		t.Fatal(err)
	}
	v := evalModule(t, nix, path)
	checkScriptedValue(t, v)
	svc := obj(t, obj(t, obj(t, v["systemd"], "systemd")["services"], "services")[ScriptedUnit], ScriptedUnit)
	start, _ = svc["script"].(string)
	for _, k := range []string{"preStop", "postStop"} {
		if s, ok := svc[k].(string); ok {
			stop = append(stop, s)
		}
	}
	if s, ok := obj(t, svc["serviceConfig"], "serviceConfig")["ExecStop"].(string); ok {
		stop = append(stop, s)
	}
	return start, stop
}

// runScript runs a service script in ns as NixOS's unit does: bash -e,
// bounded in time.
func runScript(ns *nstest.NS, script string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns.Name, "bash", "-e", "-c", script).CombinedOutput()
	return string(out), err
}

var scriptedNICs = []runNIC{
	{name: "eno1", addrs: []string{"192.168.10.2/24", "2001:db8:10::2/64"}},
	{name: "enp2s0", addrs: []string{"192.168.20.2/24", "2001:db8:20::2/64"}},
}

func scriptedIntent() netcfg.Intent {
	a := netip.MustParseAddr
	return netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14, Name: "lan"}},
		NICs: []netcfg.NICIntent{
			{Name: "eno1", Table: netcfg.TableRef{ID: 13}, Gateways: []netip.Addr{a("192.168.10.1"), a("2001:db8:10::1")}},
			{Name: "enp2s0", Table: netcfg.TableRef{ID: 14}, Gateways: []netip.Addr{a("192.168.20.1"), a("2001:db8:20::1")}, Select: []netcfg.Selector{netcfg.SelectFrom, netcfg.SelectOIF}},
		},
	}
}

// addMainRoutes gives main routes through both NICs, as a host's own
// configuration would: the ones NixOS's stop step used to delete.
func addMainRoutes(ns *nstest.NS) {
	ns.IP("route", "add", "default", "via", "192.168.20.1", "dev", "enp2s0")
	ns.IP("route", "add", "10.1.0.0/16", "via", "192.168.10.1", "dev", "eno1")
	ns.IP("-6", "route", "add", "default", "via", "2001:db8:20::1", "dev", "enp2s0")
	ns.IP("-6", "route", "add", "2001:db8:99::/48", "via", "2001:db8:10::1", "dev", "eno1")
}

// TestScriptedServiceInNamespaces runs the scripted flavour's service, as
// Nix evaluates it, the way NixOS runs it, in namespaces whose rules and
// routes nictab applied first for reference: start, stop and start again
// with the addresses in place; with eno1's IPv4 address added 2 s after
// the start; with enp2s0's IPv6 address still in duplicate address
// detection. Each time the policy tables must equal what nictab applied
// (protocol aside) and main's routes must be as before.
func TestScriptedServiceInNamespaces(t *testing.T) {
	// Mostly waiting for networkd, DAD or a late address: beside the others.
	t.Parallel()
	applied := nstest.New(t)
	addNICs(t, applied, scriptedNICs, true)
	snap := applyAsNictab(t, applied, scriptedIntent(), false)
	tables := tablesOf(snap)
	want := policyRouting(t, applied, tables)
	mod, err := Nix(snap, NixOptions{Flavor: FlavorScripted, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	start, stop := scriptedService(t, mod)
	if len(stop) > 0 {
		t.Errorf("the service has a stop step %q: NixOS would run it at every restart", stop)
	}
	check := func(t *testing.T, ns *nstest.NS, when, main string) {
		t.Helper()
		if got := policyRouting(t, ns, tables); !slices.Equal(got, want) {
			t.Errorf("%s, the policy tables differ from nictab's (- nictab only, + here only):\n%s", when, lineDiff(want, got))
		}
		if got := mainRoutes(t, ns); got != main {
			t.Errorf("%s, main changed:\n--- before\n%s\n--- now\n%s", when, main, got)
		}
	}

	t.Run("start stop start", func(t *testing.T) {
		ns := nstest.New(t)
		addNICs(t, ns, scriptedNICs, true)
		addMainRoutes(ns)
		main := mainRoutes(t, ns)
		if out, err := runScript(ns, start); err != nil {
			t.Fatalf("start: %v\n%s", err, out)
		}
		check(t, ns, "after start", main)
		for _, s := range stop {
			if out, err := runScript(ns, s); err != nil {
				t.Errorf("stop: %v\n%s", err, out)
			}
		}
		check(t, ns, "after stop", main)
		if out, err := runScript(ns, start); err != nil {
			t.Fatalf("second start: %v\n%s", err, out)
		}
		check(t, ns, "after the second start", main)
	})

	t.Run("address 2 s late", func(t *testing.T) {
		ns := nstest.New(t)
		addNICs(t, ns, scriptedNICs, false)
		addAddr(t, ns, "eno1", "2001:db8:10::2/64", false)
		for _, a := range scriptedNICs[1].addrs {
			addAddr(t, ns, "enp2s0", a, false)
		}
		began := time.Now()
		type result struct {
			out string
			err error
		}
		done := make(chan result, 1)
		go func() { out, err := runScript(ns, start); done <- result{out, err} }()
		time.Sleep(2 * time.Second)
		select {
		case r := <-done:
			t.Fatalf("the service finished before eno1 had its address: %v\n%s", r.err, r.out)
		default:
		}
		addAddr(t, ns, "eno1", "192.168.10.2/24", false)
		addMainRoutes(ns)
		main := mainRoutes(t, ns)
		r := <-done
		if r.err != nil {
			t.Fatalf("start: %v\n%s", r.err, r.out)
		}
		t.Logf("the service waited for the late address and finished %v after its start", time.Since(began).Round(10*time.Millisecond))
		check(t, ns, "after start", main)
	})

	t.Run("IPv6 address in DAD", func(t *testing.T) {
		ns := nstest.New(t)
		addNICs(t, ns, scriptedNICs, false)
		for _, a := range scriptedNICs[0].addrs {
			addAddr(t, ns, "eno1", a, false)
		}
		addAddr(t, ns, "enp2s0", "192.168.20.2/24", false)
		// One probe a second, so DAD certainly outlasts the start.
		if out, err := exec.Command("ip", "netns", "exec", ns.Name, "sh", "-c", "echo 2 >/proc/sys/net/ipv6/conf/enp2s0/dad_transmits").CombinedOutput(); err != nil {
			t.Fatalf("set dad_transmits: %v: %s", err, out)
		}
		addAddr(t, ns, "enp2s0", "2001:db8:20::2/64", true)
		if !strings.Contains(ns.IP("-6", "addr", "show", "dev", "enp2s0"), "tentative") {
			t.Fatal("the address is not in DAD: the case would test nothing")
		}
		addMainRoutes(ns)
		main := mainRoutes(t, ns)
		began := time.Now()
		if out, err := runScript(ns, start); err != nil {
			t.Fatalf("start: %v\n%s", err, out)
		}
		t.Logf("the service waited out DAD and finished in %v", time.Since(began).Round(10*time.Millisecond))
		check(t, ns, "after start", main)
	})
}

// TestScriptedServiceHostileNames runs the service for NICs whose names
// mean something to a shell and to Nix (the kernel takes them): every
// command reaches its NIC, and the tables equal nictab's.
func TestScriptedServiceHostileNames(t *testing.T) {
	// Mostly waiting for networkd, DAD or a late address: beside the others.
	t.Parallel()
	nics := []runNIC{
		{name: `eth"0`, addrs: []string{"192.168.10.2/24"}},
		{name: `a\b'c`, addrs: []string{"2001:db8:20::2/64"}},
		{name: "$(reboot)", addrs: []string{"192.168.30.2/24"}},
	}
	a := netip.MustParseAddr
	in := netcfg.Intent{NICs: []netcfg.NICIntent{
		{Name: nics[0].name, Table: netcfg.TableRef{ID: 13}, Gateways: []netip.Addr{a("192.168.10.1")}},
		{Name: nics[1].name, Table: netcfg.TableRef{ID: 14}, Gateways: []netip.Addr{a("2001:db8:20::1")}, Select: []netcfg.Selector{netcfg.SelectOIF}},
		{Name: nics[2].name, Table: netcfg.TableRef{ID: 15}},
	}}
	applied := nstest.New(t)
	addNICs(t, applied, nics, true)
	snap := applyAsNictab(t, applied, in, false)
	tables := tablesOf(snap)
	want := policyRouting(t, applied, tables)
	mod, err := Nix(snap, NixOptions{Flavor: FlavorScripted, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	start, _ := scriptedService(t, mod)
	ns := nstest.New(t)
	addNICs(t, ns, nics, true)
	if out, err := runScript(ns, start); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	if got := policyRouting(t, ns, tables); !slices.Equal(got, want) || len(want) < 5 {
		t.Errorf("the policy tables differ from nictab's (- nictab only, + here only):\n%s", lineDiff(want, got))
	}
}
