package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/nictab/nictab/internal/sandbox"
	"github.com/nictab/nictab/netcfg/lookup"
)

// inNS runs fn on a thread inside the named namespace. Sockets made there
// stay in it, whatever thread uses them later; the thread itself is never
// unlocked, so Go retires it rather than reuse it in the wrong namespace.
func inNS(t *testing.T, name string, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		h, err := netns.GetFromName(name)
		if err != nil {
			errc <- err
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	if err := <-errc; err != nil {
		t.Fatalf("in namespace %s: %v", name, err)
	}
}

func ipIn(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// flat is text with every run of spaces and line breaks made one space,
// so that a phrase is found however the output wraps it.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// liveConn is one socket of the namespace under test, as the guard sees
// it, and what `ip route get` says of its replies.
type liveConn struct {
	proto         string
	local, remote netip.AddrPort
}

// listen opens a TCP listener (or a UDP socket) at addr inside ns that
// accepts and holds every connection until the test ends.
func listen(t *testing.T, ns, proto, addr string) {
	t.Helper()
	inNS(t, ns, func() error {
		if proto == "udp" {
			c, err := net.ListenPacket("udp", addr)
			if err == nil {
				t.Cleanup(func() { c.Close() })
			}
			return err
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				t.Cleanup(func() { c.Close() })
			}
		}()
		return nil
	})
}

// dial connects from local to remote inside ns and returns the socket's
// endpoints.
func dial(t *testing.T, ns, proto, local, remote string) liveConn {
	t.Helper()
	var lc liveConn
	inNS(t, ns, func() error {
		la, err := net.ResolveTCPAddr("tcp", local)
		if err != nil {
			return err
		}
		d := net.Dialer{LocalAddr: la}
		if proto == "udp" {
			d.LocalAddr = &net.UDPAddr{IP: la.IP, Port: la.Port}
		}
		c, err := d.Dial(proto, remote)
		if err != nil {
			return err
		}
		t.Cleanup(func() { c.Close() })
		lc = liveConn{proto: proto, local: netip.MustParseAddrPort(c.LocalAddr().String()), remote: netip.MustParseAddrPort(c.RemoteAddr().String())}
		return nil
	})
	return lc
}

// routeGet is `ip route get` of a socket's replies: "dev X via Y table T".
func routeGet(t *testing.T, ns string, c liveConn) string {
	t.Helper()
	out := ipIn(t, ns, "route", "get", c.remote.Addr().String(), "from", c.local.Addr().String(), "ipproto", c.proto,
		"sport", fmt.Sprint(c.local.Port()), "dport", fmt.Sprint(c.remote.Port()))
	f := strings.Fields(out)
	var parts []string
	for _, k := range []string{"dev", "via", "table"} {
		if i := slices.Index(f, k); i >= 0 && i+1 < len(f) {
			parts = append(parts, k+" "+f[i+1])
		}
	}
	return strings.Join(parts, " ")
}

// noRPFilter turns reverse-path filtering off in ns: the tests' replies
// come back on another NIC than their packets left by, as they do on a
// host whose VPN takes the traffic out and the LAN brings it back.
func noRPFilter(t *testing.T, ns string, devs ...string) {
	t.Helper()
	inNS(t, ns, func() error {
		for _, d := range append([]string{"all", "default"}, devs...) {
			if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+d+"/rp_filter", []byte("0"), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
}

// tailscaleLike adds, to the sandbox c runs in, what tailscaled sets up:
// ts0 (a veth to the gateway namespace, where 100.88.1.7 is a tailnet
// peer), table 52 with 100.64.0.0/10 through it, and the rules 5210–5270.
func tailscaleLike(t *testing.T, c *cli) string {
	gw := sandbox.GatewayNS(c.ns.Name)
	ipIn(t, c.ns.Name, "link", "add", "ts0", "type", "veth", "peer", "name", "ts0p", "netns", gw)
	ipIn(t, c.ns.Name, "addr", "add", "100.101.1.2/32", "dev", "ts0")
	ipIn(t, c.ns.Name, "link", "set", "ts0", "up")
	ipIn(t, gw, "addr", "add", "100.88.1.7/32", "dev", "ts0p")
	ipIn(t, gw, "link", "set", "ts0p", "up")
	ipIn(t, gw, "route", "add", "100.101.1.2/32", "dev", "ts0p")
	ipIn(t, c.ns.Name, "route", "add", "100.64.0.0/10", "dev", "ts0", "table", "52")
	noRPFilter(t, c.ns.Name, "eno1", "enp2s0", "ts0")
	for _, r := range [][]string{
		{"pref", "5210", "fwmark", "0x80000/0xff0000", "lookup", "main"},
		{"pref", "5230", "fwmark", "0x80000/0xff0000", "lookup", "default"},
		{"pref", "5250", "fwmark", "0x80000/0xff0000", "unreachable"},
		{"pref", "5270", "lookup", "52"},
	} {
		ipIn(t, c.ns.Name, append([]string{"rule", "add"}, r...)...)
	}
	return gw
}

// moveFile sends eno1's own traffic (192.168.10.2) to table 13.
const moveFile = `version: 1
tables: [{id: 13, name: vpn}]
nics:
  - {name: eno1, table: 13, gateway: 192.168.10.1}
`

// planOutput is the part of `plan --json` the guard fills in.
type planOutput struct {
	Verdict string            `json:"verdict"`
	Guard   *lookup.Guard     `json:"guard"`
	Flows   *lookup.FlowGuard `json:"flows"`
}

// checkAgainstRouteGet applies the plan and compares, for every socket,
// what `ip route get` says of its replies before and after with what the
// guard listed: moved exactly when the NIC or gateway changes, same way
// when only the table does.
func checkAgainstRouteGet(t *testing.T, c *cli, file string, conns []liveConn, f *lookup.FlowGuard) {
	t.Helper()
	before := map[liveConn]string{}
	for _, lc := range conns {
		before[lc] = routeGet(t, c.ns.Name, lc)
	}
	if r := c.run("apply", "-f", file, "--yes", "--confirm", "0", "--force"); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	for _, lc := range conns {
		after := routeGet(t, c.ns.Name, lc)
		hop := func(s string) string { s, _, _ = strings.Cut(s, " table"); return s }
		wantMoved, wantSame := hop(before[lc]) != hop(after), before[lc] != after && hop(before[lc]) == hop(after)
		i := slices.IndexFunc(f.Moved, func(m lookup.MovedFlow) bool { return m.Local == lc.local && m.Remote == lc.remote })
		gotMoved, gotSame := i >= 0 && !f.Moved[i].SameWay, i >= 0 && f.Moved[i].SameWay
		if gotMoved != wantMoved || gotSame != wantSame {
			t.Errorf("%s %s → %s: ip route get says %q, then %q; the guard says moved %v, same way %v", lc.proto, lc.local, lc.remote, before[lc], after, gotMoved, gotSame)
		}
	}
}

// TestGuardFlowsTailscale: with a tailscale-like rule set and live
// connections, plan lists exactly the connections whose replies the plan
// moves (as `ip route get` shows before and after), the session first,
// and the tailscale rule the new rule now precedes; --json and
// --detailed-exitcode carry the verdict.
func TestGuardFlowsTailscale(t *testing.T) {
	c := newCLI(t)
	gw := tailscaleLike(t, c)
	listen(t, gw, "tcp", "100.88.1.7:443")
	listen(t, gw, "tcp", "192.168.10.1:80")
	listen(t, gw, "udp", "100.88.1.7:53")
	listen(t, gw, "tcp", "[2001:db8:10::1]:443")
	listen(t, c.ns.Name, "tcp", "192.168.20.2:22")
	conns := []liveConn{
		dial(t, c.ns.Name, "tcp", "192.168.10.2:0", "100.88.1.7:443"),           // moves: ts0 → eno1
		dial(t, c.ns.Name, "tcp", "192.168.20.2:0", "100.88.1.7:443"),           // stays on ts0
		dial(t, c.ns.Name, "tcp", "192.168.10.2:0", "192.168.10.1:80"),          // same NIC, table 13
		dial(t, c.ns.Name, "udp", "192.168.10.2:5353", "100.88.1.7:53"),         // moves
		dial(t, c.ns.Name, "tcp", "[2001:db8:10::2]:0", "[2001:db8:10::1]:443"), // same NIC, table 13
	}
	// The SSH session: a login from the gateway to enp2s0's address,
	// whose replies the plan leaves alone.
	client := dial(t, gw, "tcp", "192.168.20.1:0", "192.168.20.2:22")
	c.env = []string{fmt.Sprintf("SSH_CONNECTION=%s %d 192.168.20.2 22", client.local.Addr(), client.local.Port())}
	file := writeFile(t, "move.yaml", moveFile)

	r := c.run("plan", "-f", file, "--detailed-exitcode")
	if r.code != 4 {
		t.Fatalf("plan that moves other connections but not the session: want exit 4, got %s", r)
	}
	mustContain(t, "plan", flat(r.stdout), "SSH ok",
		"moves 2 established connections: 100.88.1.7:443, 100.88.1.7:53/udp",
		"2 connections keep their NIC and gateway, through another table: 192.168.10.1:80, [2001:db8:10::1]:443",
		"rule 1000 now precedes rule 5270 (table 52) for from 192.168.10.2 to 100.64.0.1")

	r = c.run("plan", "-f", file, "--json")
	var out planOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
		t.Fatalf("plan --json: %v\n%s", err, r)
	}
	if out.Verdict != "moves-flows" || out.Guard == nil || out.Guard.Status != lookup.GuardSafe || out.Flows == nil || out.Flows.MovedSockets != 2 || len(out.Flows.Shadowed) == 0 {
		t.Fatalf("plan --json verdict %q guard %+v flows %+v", out.Verdict, out.Guard, out.Flows)
	}
	i := slices.IndexFunc(out.Flows.Shadowed, func(s lookup.ShadowedRule) bool { return s.Rule.Priority == 5270 })
	if i < 0 {
		t.Fatalf("rule 5270 is not among the shadowed: %+v", out.Flows.Shadowed)
	}
	if s := out.Flows.Shadowed[i]; s.By.Priority != 1000 || s.Before.Dev != "ts0" || s.After.Dev != "eno1" || s.Packet.Src != netip.MustParseAddr("192.168.10.2") {
		t.Errorf("shadowed rule: %+v", s)
	}
	checkAgainstRouteGet(t, c, file, conns, out.Flows)
}

// TestGuardFlowsSessionFirst: a plan that moves the SSH session lists it
// first, marked, exits 5 with --detailed-exitcode, and says so in --json.
func TestGuardFlowsSessionFirst(t *testing.T) {
	c := newCLI(t)
	gw := sandbox.GatewayNS(c.ns.Name)
	listen(t, c.ns.Name, "tcp", "192.168.20.2:22")
	listen(t, gw, "tcp", "192.168.10.1:443")
	other := dial(t, c.ns.Name, "tcp", "192.168.20.2:0", "192.168.10.1:443")
	client := dial(t, gw, "tcp", "192.168.20.1:0", "192.168.20.2:22")
	c.env = []string{fmt.Sprintf("SSH_CONNECTION=%s %d 192.168.20.2 22", client.local.Addr(), client.local.Port())}
	danger := writeFile(t, "danger.yaml", dangerFile)

	r := c.run("plan", "-f", danger, "--detailed-exitcode")
	if r.code != exitMovesSSH {
		t.Fatalf("plan that moves the session: want exit %d, got %s", exitMovesSSH, r)
	}
	mustContain(t, "plan", flat(r.stdout), "DANGER: THIS CHANGE MOVES YOUR SSH SESSION", "MOVES 1 CONNECTION, THIS SSH SESSION FIRST",
		fmt.Sprintf("%s:22 (this session)", client.local.Addr()))
	r = c.run("plan", "-f", danger, "--json", "--detailed-exitcode")
	var out planOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != exitMovesSSH {
		t.Fatalf("plan --json --detailed-exitcode: %v\n%s", err, r)
	}
	if out.Verdict != "moves-ssh" || out.Guard == nil || out.Guard.Status != lookup.GuardMoved || out.Guard.CauseRule == nil || out.Guard.CauseRule.Priority != 900 {
		t.Fatalf("verdict %q guard %+v", out.Verdict, out.Guard)
	}
	if len(out.Flows.Moved) == 0 || !out.Flows.Moved[0].Session || out.Flows.Moved[0].Remote != client.local {
		t.Errorf("the session is not the first moved flow: %+v", out.Flows.Moved)
	}
	checkAgainstRouteGet(t, c, danger, []liveConn{other, {proto: "tcp", local: client.remote, remote: client.local}}, out.Flows)
}

// TestGuardFlowsUnknownSession: with no SSH session of nictab's found, a
// plan that moves an SSH login to this host is treated as moving the
// session: the login is marked, the warning is loud, --detailed-exitcode
// exits 5, --json says moves-ssh, and apply refuses --confirm 0 leaving
// the kernel as it was.
func TestGuardFlowsUnknownSession(t *testing.T) {
	c := newCLI(t)
	gw := sandbox.GatewayNS(c.ns.Name)
	listen(t, c.ns.Name, "tcp", "192.168.20.2:22")
	client := dial(t, gw, "tcp", "192.168.20.1:0", "192.168.20.2:22")
	danger := writeFile(t, "danger.yaml", dangerFile)

	r := c.run("plan", "-f", danger, "--detailed-exitcode")
	if r.code != exitMovesSSH {
		t.Fatalf("plan that moves an SSH login, no session found: want exit %d, got %s", exitMovesSSH, r)
	}
	mustContain(t, "plan", flat(r.stdout), fmt.Sprintf("%s:22 (an SSH login)", client.local.Addr()),
		"DANGER: THIS CHANGE MOVES AN SSH LOGIN, AND YOURS WAS NOT FOUND")
	r = c.run("plan", "-f", danger, "--json", "--detailed-exitcode")
	var out planOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != exitMovesSSH {
		t.Fatalf("plan --json --detailed-exitcode: %v\n%s", err, r)
	}
	if out.Verdict != "moves-ssh" || len(out.Flows.Moved) == 0 || !out.Flows.Moved[0].SSH || out.Flows.Moved[0].Session {
		t.Fatalf("verdict %q, moved %+v", out.Verdict, out.Flows.Moved)
	}
	before := c.routing()
	r = c.run("apply", "-f", danger, "--yes", "--confirm", "0")
	if r.code != exitUsage || c.routing() != before {
		t.Fatalf("--confirm 0 on a change that moves an SSH login: want exit %d and nothing changed, got %s", exitUsage, r)
	}
	// checkAgainstRouteGet applies the plan: last.
	checkAgainstRouteGet(t, c, danger, []liveConn{{proto: "tcp", local: client.remote, remote: client.local}}, out.Flows)
}

// TestGuardFlowsWireGuard: with wg-quick's rules (32764 sends all
// unmarked traffic to table 51820, whose default route is wg0; 32765
// keeps main's more specific routes), a connection from eno1's address
// through wg0 moves to eno1, one from enp2s0's stays, and plan names rule
// 32764 as the one the new rule now precedes.
func TestGuardFlowsWireGuard(t *testing.T) {
	c := newCLI(t)
	gw := sandbox.GatewayNS(c.ns.Name)
	ipIn(t, c.ns.Name, "link", "add", "wg0", "type", "veth", "peer", "name", "wg0p", "netns", gw)
	ipIn(t, c.ns.Name, "addr", "add", "10.200.0.2/32", "dev", "wg0")
	ipIn(t, c.ns.Name, "link", "set", "wg0", "up")
	ipIn(t, gw, "addr", "add", "10.200.0.1/32", "dev", "wg0p")
	ipIn(t, gw, "link", "set", "wg0p", "up")
	ipIn(t, gw, "route", "add", "10.200.0.2/32", "dev", "wg0p")
	ipIn(t, c.ns.Name, "route", "add", "default", "dev", "wg0", "table", "51820")
	noRPFilter(t, c.ns.Name, "eno1", "enp2s0", "wg0")
	ipIn(t, c.ns.Name, "rule", "add", "pref", "32764", "not", "fwmark", "0xca6c", "lookup", "51820")
	ipIn(t, c.ns.Name, "rule", "add", "pref", "32765", "lookup", "main", "suppress_prefixlength", "0")
	listen(t, gw, "tcp", "10.200.0.1:443")
	conns := []liveConn{
		dial(t, c.ns.Name, "tcp", "192.168.10.2:0", "10.200.0.1:443"), // moves: wg0 → eno1
		dial(t, c.ns.Name, "tcp", "192.168.20.2:0", "10.200.0.1:443"), // stays on wg0
	}
	file := writeFile(t, "move.yaml", moveFile)
	r := c.run("plan", "-f", file, "--json", "--detailed-exitcode")
	var out planOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 4 {
		t.Fatalf("plan --json --detailed-exitcode without SSH: %v\n%s", err, r)
	}
	if out.Verdict != "moves-flows" || out.Guard != nil || out.Flows.MovedSockets != 1 {
		t.Fatalf("verdict %q guard %+v flows %+v", out.Verdict, out.Guard, out.Flows)
	}
	r = c.run("plan", "-f", file)
	mustContain(t, "plan", flat(r.stdout), "moves 1 established connection: 10.200.0.1:443",
		"tcp 10.200.0.1:443: wg0 (table 51820) → eno1 via 192.168.10.1 (table 13 vpn)",
		"rule 1000 now precedes rule 32764 (table 51820) for from 192.168.10.2")
	checkAgainstRouteGet(t, c, file, conns, out.Flows)
}
