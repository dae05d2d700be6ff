package lookup_test

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
)

// homeServer is the sandbox's dual-NIC home server as a state: eno1 (VPN,
// metric 200) and enp2s0 (LAN, metric 100, preferred), both families, the
// kernel's rules and the local table the kernel builds.
const homeServer = `
link 1 lo lo 127.0.0.1/8 ::1/128
link 2 eno1 192.168.10.2/24 2001:db8:10::2/64
link 3 enp2s0 192.168.20.2/24 2001:db8:20::2/64
rule pref 0 lookup 255
rule pref 32766 lookup 254
rule pref 32767 lookup 253
rule -6 pref 0 lookup 255
rule -6 pref 32766 lookup 254
route 192.168.10.0/24 dev eno1 scope link src 192.168.10.2
route 192.168.20.0/24 dev enp2s0 scope link src 192.168.20.2
route default via 192.168.10.1 dev eno1 metric 200
route default via 192.168.20.1 dev enp2s0 metric 100
route 2001:db8:10::/64 dev eno1 metric 256
route 2001:db8:20::/64 dev enp2s0 metric 256
route default via 2001:db8:10::1 dev eno1 metric 200
route default via 2001:db8:20::1 dev enp2s0 metric 100
route local 127.0.0.0/8 dev lo table 255 src 127.0.0.1
route local 127.0.0.1 dev lo table 255 src 127.0.0.1
route broadcast 127.255.255.255 dev lo table 255 scope link src 127.0.0.1
route local 192.168.10.2 dev eno1 table 255 src 192.168.10.2
route broadcast 192.168.10.255 dev eno1 table 255 scope link src 192.168.10.2
route local 192.168.20.2 dev enp2s0 table 255 src 192.168.20.2
route broadcast 192.168.20.255 dev enp2s0 table 255 scope link src 192.168.20.2
route local ::1 dev lo table 255 metric 0
route local 2001:db8:10::2 dev eno1 table 255 metric 0
route local 2001:db8:20::2 dev enp2s0 table 255 metric 0
complete 253 254 255
`

// traceState reads a state written by hand, one object per line:
//
//	link INDEX NAME [lo] [down] [group=N] ADDR/LEN[/link]…
//	rule RULE      (netcfg.ParseRule syntax, with "pref N")
//	route ROUTE    (netcfg.ParseRoute syntax)
//	complete TABLE…
//
// Extra lines after the base text add to it; "-rule PREF" and "-route
// DST TABLE" take objects out.
func traceState(t *testing.T, texts ...string) netcfg.State {
	t.Helper()
	var s netcfg.State
	for _, text := range texts {
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			kind, rest, _ := strings.Cut(line, " ")
			switch kind {
			case "link":
				s.Links = append(s.Links, parseLink(t, rest))
			case "rule":
				r, err := netcfg.ParseRule(rest)
				if err != nil {
					t.Fatal(err)
				}
				s.Rules = append(s.Rules, r)
			case "-rule":
				s.Rules = slices.DeleteFunc(s.Rules, func(r netcfg.Rule) bool { return strconv.Itoa(int(r.Priority)) == rest })
			case "route":
				r, err := netcfg.ParseRoute(rest)
				if err != nil {
					t.Fatal(err)
				}
				s.Routes = append(s.Routes, r)
			case "-route":
				dst, table, _ := strings.Cut(rest, " ")
				s.Routes = slices.DeleteFunc(s.Routes, func(r netcfg.Route) bool {
					return (r.Dst.String() == dst || dst == "default" && r.IsDefault()) && strconv.Itoa(int(r.Table)) == table
				})
			case "complete":
				for _, f := range strings.Fields(rest) {
					n, err := strconv.ParseUint(f, 10, 32)
					if err != nil {
						t.Fatal(err)
					}
					s.Complete = append(s.Complete, uint32(n))
				}
				slices.Sort(s.Complete)
				s.Complete = slices.Compact(s.Complete)
			default:
				t.Fatalf("traceState: unknown line %q", line)
			}
		}
	}
	return s
}

func parseLink(t *testing.T, rest string) netcfg.Link {
	t.Helper()
	f := strings.Fields(rest)
	idx, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	l := netcfg.Link{Index: idx, Name: f[1], Up: true, Carrier: true, OperState: "up"}
	for _, w := range f[2:] {
		switch {
		case w == "lo":
			l.Loopback = true
		case w == "down":
			l.Up, l.OperState = false, "down"
		case strings.HasPrefix(w, "group="):
			g, _ := strconv.Atoi(strings.TrimPrefix(w, "group="))
			l.Group = uint32(g)
		default:
			a := netcfg.Addr{}
			if cut, ok := strings.CutSuffix(w, "/link"); ok {
				w, a.Scope = cut, netcfg.ScopeLink
			}
			p, err := netip.ParsePrefix(w)
			if err != nil {
				t.Fatal(err)
			}
			a.Prefix = p
			if p.Addr().IsLoopback() {
				a.Scope = netcfg.ScopeHost
			}
			l.Addrs = append(l.Addrs, a)
		}
	}
	return l
}

func mustTrace(t *testing.T, s netcfg.State, p netcfg.Packet) lookup.Path {
	t.Helper()
	path, err := lookup.Trace(s, p)
	if err != nil {
		t.Fatalf("trace %+v: %v", p, err)
	}
	return path
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// want is the part of a path a case checks.
type want struct {
	verdict lookup.Verdict
	errno   lookup.Errno
	rule    uint32 // priority of the deciding rule
	table   uint32
	route   string
	dev     string
	gw      string
	src     string
	results []lookup.StepResult
}

func checkPath(t *testing.T, p lookup.Path, w want) {
	t.Helper()
	if p.Verdict != w.verdict || p.Errno != w.errno {
		t.Errorf("verdict %s errno %s, want %s %s (%s)", p.Verdict, p.Errno.Name(), w.verdict, w.errno.Name(), p.Reason)
	}
	if w.rule != 0 && (p.Rule == nil || p.Rule.Priority != w.rule) {
		t.Errorf("deciding rule %v, want priority %d", p.Rule, w.rule)
	}
	if p.Table != w.table {
		t.Errorf("table %d, want %d", p.Table, w.table)
	}
	if got := routeText(p.Route); got != w.route {
		t.Errorf("route %q, want %q", got, w.route)
	}
	if p.Dev != w.dev || addrText(p.Gateway) != w.gw || addrText(p.Src) != w.src {
		t.Errorf("dev %q gw %q src %q, want %q %q %q", p.Dev, addrText(p.Gateway), addrText(p.Src), w.dev, w.gw, w.src)
	}
	if w.results != nil {
		var got []lookup.StepResult
		for _, s := range p.Steps {
			got = append(got, s.Result)
		}
		if !slices.Equal(got, w.results) {
			t.Errorf("steps %v, want %v", got, w.results)
		}
	}
	if len(p.Missing) > 0 {
		t.Errorf("tables %v reported missing", p.Missing)
	}
}
