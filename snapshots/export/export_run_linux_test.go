//go:build linux

package export

import (
	"encoding/json"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/snapshots/format"
)

// runNIC is a veth NIC of a test namespace, its peer up beside it.
type runNIC struct {
	name  string
	addrs []string
}

// addNICs makes the NICs in ns, with their addresses when withAddrs.
// IPv6 addresses skip duplicate address detection unless dad is set.
func addNICs(t *testing.T, ns *nstest.NS, nics []runNIC, withAddrs bool) {
	t.Helper()
	for i, n := range nics {
		peer := "peer" + string(rune('a'+i))
		ns.IP("link", "add", n.name, "type", "veth", "peer", "name", peer)
		ns.IP("link", "set", peer, "up")
		ns.IP("link", "set", n.name, "up")
		if withAddrs {
			for _, a := range n.addrs {
				addAddr(t, ns, n.name, a, false)
			}
		}
	}
}

func addAddr(t *testing.T, ns *nstest.NS, dev, a string, dad bool) {
	t.Helper()
	args := []string{"addr", "add", a, "dev", dev}
	if strings.Contains(a, ":") && !dad {
		args = append(args, "nodad")
	}
	ns.IP(args...)
}

// applyAsNictab applies in to ns as nictab's engine does (detect,
// resolve, plan, apply, detect again) and returns the snapshot it would
// save, addressing included.
//
// extra commands, if any, run as `ip ARGS…` after the apply, before the
// snapshot is read: rules and routes with nictab's protocol and
// attributes an intent cannot ask for, which nictab owns all the same.
func applyAsNictab(t *testing.T, ns *nstest.NS, in netcfg.Intent, networkd bool, extra ...string) *format.Snapshot {
	t.Helper()
	k, err := kernel.Open(ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	paths := netcfg.NamePaths{Etc: filepath.Join(t.TempDir(), "iproute2"), Usr: "/usr/share/iproute2"}
	names := func() netcfg.Names { return netcfg.LoadNames(paths) }
	var tables []uint32
	for _, n := range in.NICs {
		tables = append(tables, n.Table.ID)
	}
	live, err := netcfg.Detect(k, names(), netcfg.DetectOptions{Tables: tables, Owned: true})
	if err != nil {
		t.Fatal(err)
	}
	d, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := netcfg.Apply(k, netcfg.PlanChanges(live, d), netcfg.ApplyOptions{LoadNames: names, Names: netcfg.NamesFile{Paths: paths}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range extra {
		ns.IP(strings.Fields(c)...)
	}
	after, err := netcfg.Detect(k, names(), netcfg.DetectOptions{Owned: true})
	if err != nil {
		t.Fatal(err)
	}
	o := netcfg.OwnedAsDesired(after)
	target := o.Owned
	return &format.Snapshot{
		Version:  format.Version,
		Intent:   in,
		Meta:     &format.Meta{ID: "20250306T000000Z-run1", Time: fixTime, Host: "test", NictabVersion: "test", Kind: "apply", Networkd: networkd, Addressing: format.AddressingOf(after, target, in)},
		Resolved: &target,
	}
}

// policyRouting reads the namespace's rules (but the three every
// namespace has) and the routes of tables with `ip -j`, one canonical
// line each, sorted, with the protocol left out: nictab installs with its
// own, NixOS and networkd with "static".
func policyRouting(t *testing.T, ns *nstest.NS, tables []string) []string {
	t.Helper()
	var out []string
	add := func(prefix string, objs []map[string]any) {
		for _, o := range objs {
			delete(o, "protocol")
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, prefix+string(b))
		}
	}
	for _, fam := range []string{"-4", "-6"} {
		var rules []map[string]any
		ns.JSON(&rules, fam, "rule", "show")
		rules = slices.DeleteFunc(rules, func(r map[string]any) bool {
			p, _ := r["priority"].(float64)
			return (p == 0 || p == 32766 || p == 32767) && len(r) == 3
		})
		for _, r := range rules {
			// NOTE: systemd-networkd sends every rule with a table, main
			// when Table= is unset, so its prohibit, blackhole and
			// unreachable rules read back as "table main" where nictab's
			// have none. The kernel never looks a table up for them; this
			// is the one attribute the comparison lets differ.
			if a, _ := r["action"].(string); a != "" && r["table"] == "main" {
				delete(r, "table")
			}
		}
		add(fam+" rule ", rules)
		var routes []map[string]any
		ns.JSON(&routes, fam, "route", "show", "table", "all")
		routes = slices.DeleteFunc(routes, func(r map[string]any) bool {
			tb, _ := r["table"].(string)
			return !slices.Contains(tables, tb)
		})
		add(fam+" route ", routes)
	}
	slices.Sort(out)
	return out
}

// mainRoutes is the main table of both families, as `ip -j` shows it.
func mainRoutes(t *testing.T, ns *nstest.NS) string {
	t.Helper()
	return ns.IP("-j", "-4", "route", "show", "table", "main") + ns.IP("-j", "-6", "route", "show", "table", "main")
}

// addresses lists a NIC's addresses but IPv6 link-local, sorted.
func addresses(t *testing.T, ns *nstest.NS, dev string) []string {
	t.Helper()
	var links []struct {
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	ns.JSON(&links, "addr", "show", "dev", dev)
	var out []string
	for _, l := range links {
		for _, a := range l.AddrInfo {
			p := netip.PrefixFrom(netip.MustParseAddr(a.Local), a.PrefixLen)
			if p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() {
				continue
			}
			out = append(out, p.String())
		}
	}
	slices.Sort(out)
	return out
}

func tablesOf(s *format.Snapshot) []string {
	var out []string
	for _, r := range s.Resolved.Routes {
		tb := strconv.FormatUint(uint64(r.Table), 10)
		if !slices.Contains(out, tb) {
			out = append(out, tb)
		}
	}
	return out
}

func lineDiff(want, got []string) string {
	var b strings.Builder
	for _, w := range want {
		if !slices.Contains(got, w) {
			b.WriteString("- " + w + "\n")
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			b.WriteString("+ " + g + "\n")
		}
	}
	return b.String()
}
