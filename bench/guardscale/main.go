//go:build linux

// Command guardscale times `nictab plan -f` with the SSH guard on
// ($SSH_CONNECTION set) and off, with a full Internet table's worth of
// routes in main and a plan of about a thousand ops, and prints the
// medians and their ratio against the target of issue 18 (≤ 1.2×).
// bench/guard-scale.sh builds nictab and this program and runs it.
//
// Everything happens in a sandbox namespace (eno1 and enp2s0 with their
// gateways, as `nictab sandbox` makes it) that guardscale creates and
// deletes again, also when it is interrupted. Main is filled with nictab's
// own pipelined writer (netcfg's Exec), in batches.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"golang.org/x/sys/unix"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nictab/nictab/internal/sandbox"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

func main() {
	nictab := flag.String("nictab", "", "the nictab binary to time")
	routes := flag.Int("routes", 1_000_000, "routes in main (IPv4 /24s via enp2s0's gateway)")
	ops := flag.Int("ops", 1000, "routes the plan adds to table 13 (plus the NIC's own rule and routes)")
	runs := flag.Int("runs", 5, "repetitions of each measurement")
	prefix := flag.String("prefix", fmt.Sprintf("gscale%d", os.Getpid()), "name of the namespace made")
	conns := flag.Int("conns", 0, "established TCP connections to hold in the namespace while timing (each its own flow: a port rule keeps them from being grouped)")
	baseline := flag.String("baseline", "", "another nictab binary (an earlier build) to time the same way, in the same namespace")
	flag.Parse()
	if *nictab == "" || os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "guardscale: run as root with -nictab BINARY")
		os.Exit(2)
	}
	ns := *prefix
	if err := sandbox.Create(ns); err != nil {
		fmt.Fprintln(os.Stderr, "guardscale:", err)
		os.Exit(1)
	}
	cleanup := func() {
		if err := sandbox.Delete(ns); err != nil {
			fmt.Fprintln(os.Stderr, "guardscale: cleanup:", err)
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() { <-sigs; cleanup(); os.Exit(130) }()
	err := run(*nictab, *baseline, ns, *routes, *ops, *runs, *conns)
	cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "guardscale:", err)
		os.Exit(1)
	}
}

func run(nictab, baseline, ns string, routes, ops, runs, conns int) error {
	t := time.Now()
	if err := fillMain(ns, routes); err != nil {
		return err
	}
	fmt.Printf("main: %d routes loaded in %.1fs\n", routes, time.Since(t).Seconds())
	if conns > 0 {
		closeAll, err := holdConns(ns, conns)
		if err != nil {
			return err
		}
		defer closeAll()
		fmt.Printf("holding %d established connections from 192.168.10.2 to 192.168.10.1:80\n", conns)
	}
	dir, err := os.MkdirTemp("", "guardscale")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(file, planFile(ops), 0o644); err != nil {
		return err
	}
	state := filepath.Join(dir, "state")
	ssh := "SSH_CONNECTION=192.168.20.1 50022 192.168.20.2 22"
	bins := []string{nictab}
	if baseline != "" {
		bins = append(bins, baseline)
	}
	off, on := make([][]float64, len(bins)), make([][]float64, len(bins))
	for i := 0; i < runs; i++ {
		// Alternated, so that drift on a shared machine hits all alike.
		for j, bin := range bins {
			a, err := timePlan(bin, ns, state, file, "")
			if err != nil {
				return err
			}
			b, err := timePlan(bin, ns, state, file, ssh)
			if err != nil {
				return err
			}
			off[j], on[j] = append(off[j], a), append(on[j], b)
		}
	}
	// How much of main the guard read, in its own words.
	cmd := exec.Command(nictab, "--netns", ns, "--state-dir", state, "plan", "-f", file, "--json")
	cmd.Env = append(os.Environ(), ssh)
	js, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("nictab plan --json: %w", err)
	}
	var doc struct {
		Main  string `json:"guard_main_table"`
		Flows struct {
			Sockets, Flows, Traced int
		} `json:"flows"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		return fmt.Errorf("nictab plan --json: %w", err)
	}
	fmt.Printf("plan -f, %d routes in main, %d-route plan, medians of %d; the guard read main: %s; sockets %d, flows %d, traced %d\n",
		routes, ops, runs, doc.Main, doc.Flows.Sockets, doc.Flows.Flows, doc.Flows.Traced)
	for j, bin := range bins {
		mo, mn := median(off[j]), median(on[j])
		verdict := "PASS"
		if mn > 1.2*mo {
			verdict = "FAIL"
		}
		fmt.Printf("%s\n", bin)
		fmt.Printf("  guard off (no SSH_CONNECTION)  %.3fs  %v\n", mo, rounded(off[j]))
		fmt.Printf("  guard on  (SSH_CONNECTION set) %.3fs  %v\n", mn, rounded(on[j]))
		fmt.Printf("  ratio on/off %.3f× (target ≤ 1.2×) %s\n", mn/mo, verdict)
		if j > 0 {
			fmt.Printf("  -nictab ÷ -baseline: guard off %.2f×, guard on %.2f×\n", median(off[0])/mo, median(on[0])/mn)
		}
	}
	return nil
}

// fillMain adds n /24 routes to main via enp2s0's gateway, in batches so
// that the ops of a million routes are never all in memory.
func fillMain(ns string, n int) error {
	k, err := kernel.Open(ns)
	if err != nil {
		return err
	}
	defer k.Close()
	gw := netip.MustParseAddr("192.168.20.1")
	const batch = 100_000
	for start := 0; start < n; start += batch {
		var ops []netcfg.Op
		for i := start; i < min(start+batch, n); i++ {
			// 1.0.0.0 upwards, skipping nothing the sandbox uses: the
			// sandbox's networks are 192.168.x and 2001:db8::.
			a := uint32(0x01000000) + uint32(i)<<8
			ops = append(ops, netcfg.Op{Kind: netcfg.OpAddRoute, Route: &netcfg.Route{Table: netcfg.TableMain, Type: netcfg.RouteUnicast,
				Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24),
				Gw:  gw, Dev: "enp2s0", Proto: netcfg.ProtoBoot}})
		}
		if res := k.Exec(ops); res.Failed != nil {
			return fmt.Errorf("fill main: %w", res.Failed)
		}
	}
	return nil
}

// planFile moves eno1 to table 13 and adds n routes there: about n+5 ops.
func planFile(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\ntables: [{id: 13, name: vpn}]\nnics:\n  - {name: eno1, table: 13, gateway: 192.168.10.1}\nroutes:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {table: 13, to: 10.%d.%d.0/24, via: 192.168.10.1, dev: eno1}\n", i>>8, i&0xff)
	}
	return []byte(b.String())
}

func timePlan(nictab, ns, state, file, env string) (float64, error) {
	cmd := exec.Command(nictab, "--netns", ns, "--state-dir", state, "plan", "-f", file, "--no-commands")
	cmd.Env = slices.DeleteFunc(os.Environ(), func(s string) bool { return strings.HasPrefix(s, "SSH_") })
	if env != "" {
		cmd.Env = append(cmd.Env, env)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	t := time.Now()
	err := cmd.Run()
	d := time.Since(t).Seconds()
	if err != nil {
		return 0, fmt.Errorf("nictab plan: %v\n%s", err, out.String())
	}
	if env != "" && !strings.Contains(out.String(), "SSH ok") && !strings.Contains(out.String(), "DANGER") {
		return 0, fmt.Errorf("the guard did not run with %s:\n%s", env, out.String())
	}
	return d, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func rounded(v []float64) []string {
	var out []string
	for _, x := range v {
		out = append(out, fmt.Sprintf("%.3f", x))
	}
	return out
}

// inNS runs fn on a thread moved into the named namespace; sockets made
// there stay in it. The thread is never unlocked, so Go retires it.
func inNS(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		if err != nil {
			errc <- fmt.Errorf("enter %s: %w", name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// holdConns opens n TCP connections from eno1's address to a listener on
// its gateway, and a rule on ports (matching none of them) so that the
// guard cannot fold them into one flow.
func holdConns(ns string, n int) (func(), error) {
	var socks []net.Conn
	var l net.Listener
	closeAll := func() {
		for _, c := range socks {
			c.Close()
		}
		if l != nil {
			l.Close()
		}
	}
	err := inNS(sandbox.GatewayNS(ns), func() error {
		var err error
		l, err = net.Listen("tcp", "192.168.10.1:80")
		return err
	})
	if err != nil {
		return closeAll, err
	}
	accepted := make(chan net.Conn, n)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	err = inNS(ns, func() error {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("192.168.10.2")}}
		for range n {
			c, err := d.Dial("tcp", "192.168.10.1:80")
			if err != nil {
				return err
			}
			socks = append(socks, c)
		}
		return nil
	})
	for range len(socks) {
		socks = append(socks, <-accepted)
	}
	if err != nil {
		return closeAll, err
	}
	out, err := exec.Command("ip", "-n", ns, "rule", "add", "pref", "500", "ipproto", "tcp", "sport", "9", "lookup", "main").CombinedOutput()
	if err != nil {
		return closeAll, fmt.Errorf("ip rule add: %v: %s", err, out)
	}
	return closeAll, nil
}
