//go:build linux

package kernel_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/enginetest"
	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// v6Defaults returns main's IPv6 default routes as DefaultsOnly reads
// them and as a whole dump of main holds them.
func v6Defaults(t *testing.T, k netcfg.Kernel) (got, want string) {
	t.Helper()
	var g, w []string
	err := k.Routes(netcfg.RouteQuery{Family: netcfg.V6, Table: netcfg.TableMain, DefaultsOnly: true}, func(r *netcfg.Route) error {
		g = append(g, netcfg.RouteString(r))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = k.Routes(netcfg.RouteQuery{Family: netcfg.V6, Table: netcfg.TableMain}, func(r *netcfg.Route) error {
		if r.IsDefault() {
			w = append(w, netcfg.RouteString(r))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(g, "\n"), strings.Join(w, "\n")
}

// TestV6DefaultsWithAFullTable checks main's IPv6 default routes when main
// holds more IPv6 routes than are read for them (they are then asked for
// link by link), also when a rule before main answers the lookup and the
// whole table is read after all.
func TestV6DefaultsWithAFullTable(t *testing.T) {
	ns := nstest.Sandbox(t)
	var lines []string
	for i := range 1500 {
		lines = append(lines, fmt.Sprintf("route add 2a0%d:%x::/48 via 2001:db8:20::1 proto 186", i%4+1, i))
	}
	ns.Batch(lines)
	k := enginetest.Open(t, ns)
	got, want := v6Defaults(t, k)
	if !strings.Contains(want, "default via 2001:db8:20::1 dev enp2s0") || !strings.Contains(want, "default via 2001:db8:10::1 dev eno1") {
		t.Fatalf("the sandbox's IPv6 default routes are not in main:\n%s", want)
	}
	if got != want {
		t.Errorf("IPv6 default routes read for a full table:\n%s\nwant:\n%s", got, want)
	}

	// A rule before main whose table holds a default: a lookup answers
	// from table 100, which is not what was asked.
	ns.IP("-6", "route", "add", "default", "via", "2001:db8:10::1", "dev", "eno1", "table", "100")
	ns.IP("-6", "rule", "add", "pref", "100", "lookup", "100")
	if got, want := v6Defaults(t, k); got != want {
		t.Errorf("with a rule before main:\n%s\nwant:\n%s", got, want)
	}
}

// TestDefaultsLeaveAFullTableUntaken reads main's default routes with a
// full table in main, IPv4 and IPv6: each one-shot dump takes off its
// socket every datagram it looked at but the one it was left on, so the
// kernel fills none past it.
func TestDefaultsLeaveAFullTableUntaken(t *testing.T) {
	ns := nstest.Sandbox(t)
	var lines []string
	for i := range 1500 {
		lines = append(lines, fmt.Sprintf("route add 20.%d.%d.0/24 via 192.168.20.1 proto 186", i/256, i%256))
		lines = append(lines, fmt.Sprintf("route add 2a0%d:%x::/48 via 2001:db8:20::1 proto 186", i%4+1, i))
	}
	ns.Batch(lines)
	k := enginetest.Open(t, ns)
	for _, f := range []netcfg.Family{netcfg.V4, netcfg.V6} {
		looked, taken := kernel.OneShotDatagrams(k)
		n := 0
		err := k.Routes(netcfg.RouteQuery{Family: f, Table: netcfg.TableMain, DefaultsOnly: true}, func(r *netcfg.Route) error {
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("%s: %d default routes read; want the sandbox's 2", f, n)
		}
		l, tk := kernel.OneShotDatagrams(k)
		if l-looked < 1 || tk-taken != l-looked-1 {
			t.Errorf("%s: the dump looked at %d datagrams and took %d; want all but the last taken", f, l-looked, tk-taken)
		}
	}
}
