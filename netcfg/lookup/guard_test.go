package lookup_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/sshsession"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
	"github.com/nictab/nictab/ui"
)

func TestGuardSSH(t *testing.T) {
	before := traceState(t, homeServer, "complete 13")
	vpn := `
		rule pref 1000 from 192.168.10.2 lookup 13 proto 201
		rule -6 pref 1000 from 2001:db8:10::2 lookup 13 proto 201
		route 192.168.10.0/24 dev eno1 table 13 src 192.168.10.2 proto 201
		route default via 192.168.10.1 dev eno1 table 13 proto 201
		route default via 2001:db8:10::1 dev eno1 table 13 proto 201`
	lan := `
		rule pref 1010 from 192.168.20.2 lookup 14 proto 201
		route default via 192.168.20.1 dev enp2s0 table 14 proto 201
		complete 14`
	client := ip("203.0.113.5")
	for _, c := range []struct {
		name   string
		after  netcfg.State
		server string
		status lookup.GuardStatus
		cause  []string
	}{
		{"a session on the LAN NIC is untouched by the VPN NIC's table", traceState(t, homeServer, vpn, "complete 13"), "192.168.20.2",
			lookup.GuardSafe, nil},
		{"a session on the VPN NIC moves from main's default to table 13", traceState(t, homeServer, vpn, "complete 13"), "192.168.10.2",
			lookup.GuardMoved, []string{"rule 1000: from 192.168.10.2 lookup 13", "before: rule 32766: from all lookup 254"}},
		{"a session moved to the same NIC and gateway through another table is safe", traceState(t, homeServer, lan, "complete 13"), "192.168.20.2",
			lookup.GuardSafe, nil},
		{"a blackhole rule cuts it", traceState(t, homeServer, "rule pref 500 to 203.0.113.0/24 blackhole", "complete 13"), "192.168.20.2",
			lookup.GuardBroken, []string{"rule 500: from all to 203.0.113.0/24 blackhole now matches and drops them"}},
		{"a route of main now wins", traceState(t, homeServer, "route 203.0.113.0/24 via 192.168.10.1 dev eno1", "complete 13"), "192.168.20.2",
			lookup.GuardMoved, []string{"route 203.0.113.0/24 via 192.168.10.1 dev eno1", "now wins in table 254", "before: default via 192.168.20.1"}},
		{"an unreachable route cuts it", traceState(t, homeServer, "route unreachable 203.0.113.0/24", "complete 13"), "192.168.20.2",
			lookup.GuardBroken, []string{"unreachable 203.0.113.0/24"}},
		{"without main nothing routes it", traceState(t, homeServer, "-rule 32766", "complete 13"), "192.168.20.2",
			lookup.GuardBroken, []string{"no rule leads to a route any more", "rule 32766: from all lookup 254"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := lookup.GuardSSH(before, c.after, client, ip(c.server))
			if g.Status != c.status {
				t.Fatalf("status %s, want %s: %s", g.Status, c.status, ui.GuardMessage(&g))
			}
			if g.Dangerous() != (c.status == lookup.GuardMoved || c.status == lookup.GuardBroken) {
				t.Errorf("Dangerous() = %v for %s", g.Dangerous(), g.Status)
			}
			for _, w := range c.cause {
				if !strings.Contains(ui.GuardCause(&g), w) || !strings.Contains(ui.GuardMessage(&g), w) {
					t.Errorf("cause %q (message %q) does not say %q", ui.GuardCause(&g), ui.GuardMessage(&g), w)
				}
			}
			if g.Dangerous() && g.CauseRule == nil && g.CauseRoute == nil && !strings.Contains(ui.GuardCause(&g), "no rule") {
				t.Errorf("a dangerous change names neither a rule nor a route: %q", ui.GuardCause(&g))
			}
			if !strings.Contains(ui.GuardMessage(&g), "203.0.113.5") {
				t.Errorf("message %q does not name the client", ui.GuardMessage(&g))
			}
		})
	}
}

// TestGuardSSHPorts: an administrator keeps SSH on main with a port rule;
// with the ports of $SSH_CONNECTION the guard sees it, without them it
// cannot.
func TestGuardSSHPorts(t *testing.T) {
	before := traceState(t, homeServer, "complete 13")
	after := traceState(t, homeServer, `
		rule pref 900 sport 22 lookup 254
		rule pref 1000 from 192.168.10.2 lookup 13
		route default via 192.168.10.1 dev eno1 table 13
		complete 13`)
	conn, ok := sshsession.ParseConn("203.0.113.5 51234 192.168.10.2 22")
	if !ok {
		t.Fatal("ParseConn failed")
	}
	if g := lookup.GuardConn(before, after, conn); g.Status != lookup.GuardSafe {
		t.Errorf("with ports: %s, want safe: %s", g.Status, ui.GuardMessage(&g))
	}
	// Without ports the port rule may or may not match the replies:
	// undetermined, which is a danger, naming the rule.
	if g := lookup.GuardSSH(before, after, conn.Client.Addr(), conn.Server.Addr()); g.Status != lookup.GuardUndetermined || !g.Dangerous() || !strings.Contains(ui.GuardMessage(&g), "rule 900") {
		t.Errorf("without ports: %s, want undetermined naming rule 900: %s", g.Status, ui.GuardMessage(&g))
	}
}

func TestGuardSSHUnknown(t *testing.T) {
	s := traceState(t, homeServer, "complete 13")
	// Nothing routes to the client even now: the simulator cannot judge.
	dead := traceState(t, homeServer, "-rule 32766")
	g := lookup.GuardSSH(dead, s, ip("203.0.113.5"), ip("192.168.20.2"))
	if g.Status != lookup.GuardUnknown || g.Dangerous() || !strings.Contains(ui.GuardMessage(&g), "even now") {
		t.Errorf("status %s: %s", g.Status, ui.GuardMessage(&g))
	}
	// A zone that names no NIC cannot be traced.
	g = lookup.GuardSSH(s, s, netip.MustParseAddr("fe80::1%nope0"), ip("fe80::2"))
	if g.Status != lookup.GuardUnknown || !strings.Contains(ui.GuardMessage(&g), "nope0") {
		t.Errorf("status %s: %s", g.Status, ui.GuardMessage(&g))
	}
	// A table the rules reach that was not read makes the verdict a guess,
	// and the message says so.
	partial := traceState(t, homeServer, "rule pref 1000 from 192.168.10.2 lookup 13")
	g = lookup.GuardSSH(partial, partial, ip("203.0.113.5"), ip("192.168.10.2"))
	if g.Status != lookup.GuardSafe || !strings.Contains(ui.GuardMessage(&g), "not read in full") {
		t.Errorf("status %s: %s", g.Status, ui.GuardMessage(&g))
	}
}
