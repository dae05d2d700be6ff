//go:build linux

package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// nsSet is the namespaces one run of the benchmark made, so that they can
// be deleted on every way out.
type nsSet struct {
	mu     sync.Mutex
	prefix string
	names  []string
}

func (s *nsSet) add(suffix string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := s.prefix + "-" + suffix
	if err := ip("netns", "add", name); err != nil {
		return "", err
	}
	s.names = append(s.names, name)
	if err := ip("-n", name, "link", "set", "lo", "up"); err != nil {
		return "", err
	}
	return name, nil
}

func (s *nsSet) deleteAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.names {
		if err := kernel.DeleteNamedNS(n); err != nil {
			fmt.Fprintln(os.Stderr, "vsip: cleanup:", err)
		}
	}
	s.names = nil
}

func ip(args ...string) error {
	var errb bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return nil
}

// veth adds a veth pair inside ns, both ends up, the first with addrs.
func veth(ns, name string, addrs ...string) error {
	if err := ip("-n", ns, "link", "add", name, "type", "veth", "peer", "name", name+"p"); err != nil {
		return err
	}
	for _, a := range addrs {
		args := []string{"-n", ns, "addr", "add", a, "dev", name}
		if strings.Contains(a, ":") {
			args = append(args, "nodad")
		}
		if err := ip(args...); err != nil {
			return err
		}
	}
	for _, l := range []string{name + "p", name} {
		if err := ip("-n", ns, "link", "set", l, "up"); err != nil {
			return err
		}
	}
	return nil
}

// scatter24 maps i to a /24 of 1.0.0.0–221.255.255.0, one to one for i
// below 220·2^16 (the multiplier is odd and prime to 5 and 11), so a table
// is spread over the address space as real prefix lists are.
func scatter24(i uint32) uint32 {
	const span = 220 << 16
	return 1<<24 + uint32(uint64(i)*2654435761%span)<<8
}

// routeGen yields the routes of one benchmark table, skipping prefixes
// whose first octet is in skip (the namespace's own subnets).
type routeGen struct {
	table uint32
	gw    netip.Addr
	dev   string
	proto uint8
	skip  map[uint32]bool
	next  uint32 // the next index for scatter24
}

func (g *routeGen) routes(n int) []netcfg.Route {
	out := make([]netcfg.Route, 0, n)
	for ; len(out) < n; g.next++ {
		a := scatter24(g.next)
		if g.skip[a>>24] {
			continue
		}
		out = append(out, netcfg.Route{
			Table: g.table,
			Type:  netcfg.RouteUnicast,
			Dst:   netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24),
			Gw:    g.gw,
			Dev:   g.dev,
			Proto: g.proto,
		})
	}
	return out
}

// load adds n routes of g to ns through nictab's pipelined codec, in
// chunks so that a million routes never sit in memory at once.
func load(ns string, g *routeGen, n int) error {
	k, err := kernel.Open(ns)
	if err != nil {
		return err
	}
	defer k.Close()
	const chunk = 100_000
	for done := 0; done < n; done += chunk {
		rs := g.routes(min(chunk, n-done))
		ops := make([]netcfg.Op, len(rs))
		for i := range rs {
			ops[i] = netcfg.Op{Kind: netcfg.OpAddRoute, Route: &rs[i]}
		}
		if r := k.Exec(ops); r.Failed != nil {
			return fmt.Errorf("load %s table %d: %w", ns, g.table, r.Failed)
		}
	}
	return nil
}

// writeBatch writes lines to a file for `ip -batch`.
func writeBatch(dir, name string, lines []string) (string, error) {
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}
