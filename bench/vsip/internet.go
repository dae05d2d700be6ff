//go:build linux

package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nictab/nictab/internal/pty"
	"github.com/nictab/nictab/netcfg/kernel"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// seedFile is the seed scenario: eno1 to table 13 vpn, enp2s0 to table
// 14 lan, gateways taken from main.
const seedFile = `version: 1
comment: the seed scenario
tables:
  - {id: 13, name: vpn}
  - {id: 14, name: lan}
nics:
  - {name: eno1, table: 13}
  - {name: enp2s0, table: 14}
`

// seedNS makes a namespace shaped like the seed scenario's host: two
// NICs with IPv4 and IPv6 addresses and default routes in main, no
// policy routing yet.
func seedNS(set *nsSet, suffix string) (string, error) {
	ns, err := set.add(suffix)
	if err != nil {
		return "", err
	}
	for _, c := range [][]string{
		{"eno1", "192.168.10.2/24", "2001:db8:10::2/64"},
		{"enp2s0", "192.168.20.2/24", "2001:db8:20::2/64"},
	} {
		if err := veth(ns, c[0], c[1:]...); err != nil {
			return "", err
		}
	}
	for _, c := range [][]string{
		{"route", "add", "default", "via", "192.168.20.1", "dev", "enp2s0", "proto", "dhcp", "metric", "100"},
		{"route", "add", "default", "via", "192.168.10.1", "dev", "eno1", "proto", "dhcp", "metric", "200"},
		{"-6", "route", "add", "default", "via", "2001:db8:20::1", "dev", "enp2s0", "proto", "ra", "metric", "100"},
		{"-6", "route", "add", "default", "via", "2001:db8:10::1", "dev", "eno1", "proto", "ra", "metric", "200"},
	} {
		if err := ip(append([]string{"-n", ns}, c...)...); err != nil {
			return "", err
		}
	}
	return ns, nil
}

// loadV6 adds n IPv6 /48s of 2000::/3 to main via enp2s0's gateway,
// scattered as a BGP feed's are, through nictab's pipelined codec.
func loadV6(ns string, n int) error {
	k, err := kernel.Open(ns)
	if err != nil {
		return err
	}
	defer k.Close()
	gw := netip.MustParseAddr("2001:db8:20::1")
	const chunk = 50_000
	next := uint64(0)
	for done := 0; done < n; {
		var rs []netcfg.Route
		for ; len(rs) < min(chunk, n-done); next++ {
			// 45 bits under 2000::/3, one to one: the multiplier is odd.
			v := 1<<47 | (next*0x9e3779b97f4a7c15)&(1<<45-1)
			if v>>16 == 0x20010db8 {
				continue // the namespace's own 2001:db8::/32
			}
			var a [16]byte
			for i := range 6 {
				a[i] = byte(v >> (40 - 8*i))
			}
			rs = append(rs, netcfg.Route{Table: netcfg.TableMain, Type: netcfg.RouteUnicast, Dst: netip.PrefixFrom(netip.AddrFrom16(a), 48), Gw: gw, Dev: "enp2s0", Proto: 186, Metric: 1024})
		}
		ops := make([]netcfg.Op, len(rs))
		for i := range rs {
			ops[i] = netcfg.Op{Kind: netcfg.OpAddRoute, Route: &rs[i]}
		}
		if r := k.Exec(ops); r.Failed != nil {
			return fmt.Errorf("load IPv6 routes into %s: %w", ns, r.Failed)
		}
		done += len(rs)
	}
	return nil
}

// nictabRun runs nictab in ns with its own state directory, output
// thrown away, and returns its wall time.
type nictabRun struct {
	bin   string
	ns    string
	state string
}

func (r nictabRun) args(a ...string) []string {
	return append([]string{"--netns", r.ns, "--state-dir", r.state, "--no-color"}, a...)
}

func (r nictabRun) time(a ...string) (float64, error) {
	return timeCmd(r.bin, r.args(a...)...)
}

// firstFrame starts the terminal UI on an 80x24 pty and returns the time
// until the NICs screen (both NICs and the help line) is on it.
func (r nictabRun) firstFrame() (float64, error) {
	master, slave, err := pty.Open(80, 24)
	if err != nil {
		return 0, err
	}
	defer master.Close()
	cmd := exec.Command(r.bin, r.args("tui")...)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(e string) bool {
		return strings.HasPrefix(e, "TERM=") || strings.HasPrefix(e, "SSH_")
	}), "TERM=xterm-256color")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	t := time.Now()
	if err := cmd.Start(); err != nil {
		slave.Close()
		return 0, err
	}
	slave.Close()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var out bytes.Buffer
	buf := make([]byte, 64<<10)
	deadline := t.Add(20 * time.Second)
	for {
		_ = master.SetReadDeadline(deadline)
		n, err := master.Read(buf)
		out.Write(buf[:n])
		b := out.Bytes()
		if bytes.Contains(b, []byte("enp2s0")) && bytes.Contains(b, []byte("eno1")) && bytes.Contains(b, []byte("quit")) {
			return since(t), nil
		}
		if err != nil {
			return 0, fmt.Errorf("the terminal UI in %s drew no NICs screen: %v: %q", r.ns, err, out.String())
		}
	}
}

// benchInternet times, with a full Internet table in main (o.main IPv4
// and o.main6 IPv6 routes) against the same namespace with main holding
// only its default routes, what a person runs on such a router: `nictab
// show`, the terminal UI's first frame, and `plan` and `apply` of the seed
// scenario. Every repetition runs each command in both namespaces, one
// after the other, so that load from elsewhere falls on both.
func benchInternet(o options, set *nsSet) ([]row, error) {
	empty, err := seedNS(set, "inet-empty")
	if err != nil {
		return nil, err
	}
	full, err := seedNS(set, "inet-full")
	if err != nil {
		return nil, err
	}
	t := time.Now()
	bgp := routeGen{table: netcfg.TableMain, gw: netip.MustParseAddr("192.168.20.1"), dev: "enp2s0", proto: 186, skip: map[uint32]bool{10: true, 127: true, 192: true}}
	if err := load(full, &bgp, o.main); err != nil {
		return nil, err
	}
	if err := loadV6(full, o.main6); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "vsip: loaded %d IPv4 and %d IPv6 routes into main in %.1f s\n", o.main, o.main6, since(t))
	seed := filepath.Join(o.tmp, "seed.yaml")
	if err := os.WriteFile(seed, []byte(seedFile), 0o600); err != nil {
		return nil, err
	}
	runs := map[string]nictabRun{}
	for _, ns := range []string{empty, full} {
		st := filepath.Join(o.tmp, "state-"+ns)
		if err := os.Mkdir(st, 0o700); err != nil {
			return nil, err
		}
		runs[ns] = nictabRun{bin: o.nictab, ns: ns, state: st}
	}
	what := fmt.Sprintf("%dk IPv4 + %dk IPv6 routes in main", o.main/1000, o.main6/1000)
	mk := func(work string) row {
		return row{work: work + ", " + what, baseline: "main empty", unit: "ms", limit: 1.1}
	}
	show, tui, plan, apply := mk("`nictab show`"), mk("TUI first frame"), mk("`nictab plan -f seed`"), mk("`nictab apply -f seed --yes`")
	// Short commands are noisy: a repetition is the median of several
	// runs of each, interleaved.
	measure := func(r *row, inner int, fn func(nictabRun) (float64, error)) error {
		var e, f []float64
		for range inner {
			d, err := fn(runs[empty])
			if err != nil {
				return err
			}
			e = append(e, d*1000)
			if d, err = fn(runs[full]); err != nil {
				return err
			}
			f = append(f, d*1000)
		}
		r.theirs = append(r.theirs, median(e))
		r.ours = append(r.ours, median(f))
		return nil
	}
	// users are the user-space CPU times of the applies, by namespace:
	// nictab's own work, which the kernel's share does not move.
	users := map[string][]float64{}
	applyOnce := func(r nictabRun) (float64, error) {
		d, u, err := timeCmdCPU(r.bin, r.args("apply", "-f", seed, "--yes")...)
		if err != nil {
			return 0, err
		}
		users[r.ns] = append(users[r.ns], u*1000)
		// Back to main alone, untimed, for the next apply.
		if _, err := r.time("rollback", "--steps", "1", "--yes"); err != nil {
			return 0, err
		}
		return d, nil
	}
	// The kernel's own share: an IPv6 rule added or deleted makes it walk
	// every IPv6 route to invalidate cached lookups (fib6_flush_trees),
	// about 70 ms with a full IPv6 table. The raw writer adds the seed's
	// routes and rules in each namespace, timed, and deletes them.
	kern := mk("the seed's writes by the raw writer (the kernel's share)")
	raws := map[string]*rawConn{}
	for _, ns := range []string{empty, full} {
		c, err := rawOpen(ns)
		if err != nil {
			return nil, err
		}
		defer c.close()
		raws[ns] = c
	}
	rawRules := func(r nictabRun) (float64, error) {
		c := raws[r.ns]
		add, del, err := c.seedWrites(r.ns)
		if err != nil {
			return 0, err
		}
		d, err := c.send(add)
		if err != nil {
			return 0, fmt.Errorf("raw writer, %s: %w", r.ns, err)
		}
		if _, err := c.send(del); err != nil {
			return 0, fmt.Errorf("raw writer, %s: %w", r.ns, err)
		}
		return d, nil
	}
	less := mk("`nictab apply -f seed --yes` less the kernel's share")
	user := mk("`nictab apply -f seed --yes`, its CPU time in user space")
	// The kernel's share moves by several ms from one write to the next
	// (it is 130 ms of walking the IPv6 routes) and drifts over seconds:
	// each apply in the full namespace is less the mean of the shares the
	// raw writer paid right before it and right after it, over the empty
	// namespace's, rather than less a median taken apart.
	applyLess := func() error {
		const inner = 5
		var ae, af, ke, kf, lf []float64
		clear(users)
		for range inner {
			var d [5]float64
			for i, m := range []struct {
				fn func(nictabRun) (float64, error)
				ns string
			}{{rawRules, empty}, {applyOnce, empty}, {rawRules, full}, {applyOnce, full}, {rawRules, full}} {
				v, err := m.fn(runs[m.ns])
				if err != nil {
					return err
				}
				d[i] = v * 1000
			}
			share := (d[2]+d[4])/2 - d[0]
			ke, kf, ae, af = append(ke, d[0]), append(kf, (d[2]+d[4])/2), append(ae, d[1]), append(af, d[3])
			lf = append(lf, d[3]-share)
		}
		kern.theirs, kern.ours = append(kern.theirs, median(ke)), append(kern.ours, median(kf))
		apply.theirs, apply.ours = append(apply.theirs, median(ae)), append(apply.ours, median(af))
		less.theirs, less.ours = append(less.theirs, median(ae)), append(less.ours, median(lf))
		user.theirs, user.ours = append(user.theirs, median(users[empty])), append(user.ours, median(users[full]))
		return nil
	}
	for range o.runs {
		if err := measure(&show, 9, func(r nictabRun) (float64, error) { return r.time("show") }); err != nil {
			return nil, err
		}
		if err := measure(&tui, 5, nictabRun.firstFrame); err != nil {
			return nil, err
		}
		if err := measure(&plan, 5, func(r nictabRun) (float64, error) { return r.time("plan", "-f", seed) }); err != nil {
			return nil, err
		}
		if err := applyLess(); err != nil {
			return nil, err
		}
	}
	kern.info = true
	return []row{show, tui, plan, apply, kern, less, user}, nil
}

// seedWrites are the requests adding and deleting what the seed
// scenario adds: for each NIC, in its table, the connected route and the
// default route of each family, then the rules from its addresses.
func (c *rawConn) seedWrites(ns string) (add, del [][]byte, err error) {
	for _, n := range []struct {
		dev, net4, src4, gw4, net6, src6, gw6 string
		table                                 uint32
	}{
		{"eno1", "192.168.10.0", "192.168.10.2", "192.168.10.1", "2001:db8:10::", "2001:db8:10::2", "2001:db8:10::1", 13},
		{"enp2s0", "192.168.20.0", "192.168.20.2", "192.168.20.1", "2001:db8:20::", "2001:db8:20::2", "2001:db8:20::1", 14},
	} {
		oif, err := ifindex(ns, n.dev)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range []struct {
			dst, src, gw string
			bits         byte
			scope        byte
		}{
			{n.net4, n.src4, "", 24, unix.RT_SCOPE_LINK}, {"", "", n.gw4, 0, unix.RT_SCOPE_UNIVERSE},
			{n.net6, n.src6, "", 64, unix.RT_SCOPE_UNIVERSE}, {"", "", n.gw6, 0, unix.RT_SCOPE_UNIVERSE},
		} {
			fam := byte(unix.AF_INET)
			if strings.Contains(n.net6, ":") && (strings.Contains(r.dst, ":") || strings.Contains(r.gw, ":")) {
				fam = unix.AF_INET6
			}
			fixed := []byte{fam, r.bits, 0, 0, unix.RT_TABLE_UNSPEC, netcfg.ProtoNictab, r.scope, unix.RTN_UNICAST, 0, 0, 0, 0}
			attrs := [][]byte{attr(unix.RTA_TABLE, u32(n.table)), attr(unix.RTA_OIF, u32(oif))}
			if r.dst != "" {
				attrs = append(attrs, attr(unix.RTA_DST, netip.MustParseAddr(r.dst).AsSlice()), attr(unix.RTA_PREFSRC, netip.MustParseAddr(r.src).AsSlice()))
			} else {
				attrs = append(attrs, attr(unix.RTA_GATEWAY, netip.MustParseAddr(r.gw).AsSlice()))
			}
			add = append(add, c.msg(nil, unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, fixed, attrs...))
			del = append(del, c.msg(nil, unix.RTM_DELROUTE, 0, fixed, attrs...))
		}
	}
	ra, rd := c.seedRules()
	slices.Reverse(del)
	return append(add, ra...), append(rd, del...), nil
}

// seedRules are the requests adding and deleting the seed scenario's
// rules (from each NIC's IPv4 and IPv6 address to its table).
func (c *rawConn) seedRules() (add, del [][]byte) {
	for _, r := range []struct {
		src   string
		table uint32
		pref  uint32
	}{{"192.168.10.2", 13, 1000}, {"192.168.20.2", 14, 1010}, {"2001:db8:10::2", 13, 1000}, {"2001:db8:20::2", 14, 1010}} {
		a := netip.MustParseAddr(r.src)
		fam, src := byte(unix.AF_INET), a.AsSlice()
		if a.Is6() {
			fam = unix.AF_INET6
		}
		fixed := []byte{fam, 0, byte(a.BitLen()), 0, unix.RT_TABLE_UNSPEC, 0, 0, unix.FR_ACT_TO_TBL, 0, 0, 0, 0}
		attrs := [][]byte{attr(unix.FRA_SRC, src), attr(unix.FRA_PRIORITY, u32(r.pref)), attr(unix.FRA_TABLE, u32(r.table)), attr(unix.FRA_PROTOCOL, []byte{netcfg.ProtoNictab})}
		add = append(add, c.msg(nil, unix.RTM_NEWRULE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, fixed, attrs...))
		del = append(del, c.msg(nil, unix.RTM_DELRULE, 0, fixed, attrs...))
	}
	return add, del
}
