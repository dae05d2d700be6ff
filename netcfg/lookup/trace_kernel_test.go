//go:build linux

package lookup_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/netcfg/lookup"
)

// TestTraceKernel is the differential test of the lookup simulator: random
// rule sets and routing tables are built in a namespace, random packets are
// routed by the kernel (`ip route get`, and `ip route get … fibmatch` for
// the route that matched) and by lookup.Trace on the state netcfg.Detect
// reads back, and the answers must agree.
//
// NICTAB_TRACE_CONFIGS sets the number of configurations (default 300),
// NICTAB_TRACE_SEED the first seed; a failure names the seed that
// reproduces it.
func TestTraceKernel(t *testing.T) {
	nstest.RequireRoot(t)
	configs := envInt(t, "NICTAB_TRACE_CONFIGS", 300)
	seed := uint64(envInt(t, "NICTAB_TRACE_SEED", 1))
	if testing.Short() {
		configs = min(configs, 40)
	}
	ns := nstest.New(t)
	for _, s := range traceSysctls {
		if out, err := exec.Command("ip", "netns", "exec", ns.Name, "sysctl", "-qw", s).CombinedOutput(); err != nil {
			t.Fatalf("sysctl %s: %v: %s", s, err, out)
		}
	}
	ns.Batch(traceWorld)
	// n2 is a NIC the host does not forward from.
	if out, err := exec.Command("ip", "netns", "exec", ns.Name, "sysctl", "-qw", "net.ipv4.conf.n2.forwarding=0").CombinedOutput(); err != nil {
		t.Fatalf("sysctl: %v: %s", err, out)
	}
	k, err := kernel.Open(ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()

	start := time.Now()
	var cases, mismatches int
	verdicts := map[lookup.Verdict]int{}
	for i := range configs {
		s := seed + uint64(i)
		n, m := runTraceConfig(t, ns, k, s, verdicts, mismatches < 10)
		cases += n
		mismatches += m
	}
	t.Logf("%d configurations, %d packets, %d mismatches, %v; verdicts %v", configs, cases, mismatches, time.Since(start).Round(time.Millisecond), verdicts)
	// Every kind of answer must be among the cases, or the comparison
	// proves less than it seems to.
	for v := lookup.VerdictRouted; v <= lookup.VerdictRefused; v++ {
		if verdicts[v] == 0 && configs >= 100 {
			t.Errorf("no packet had the verdict %s", v)
		}
	}
	t.Logf("steps through dscp and port-mask rules: %d not matching, %d matching", newSelectorSteps[0], newSelectorSteps[1])
	if configs >= 100 && (newSelectorSteps[0] < 50 || newSelectorSteps[1] < 50) {
		t.Errorf("too few steps through dscp and port-mask rules (%v): the comparison proves little about them", newSelectorSteps)
	}
	if cases < configs*10 {
		t.Errorf("only %d packets were routed by both; the generator makes too few valid cases", cases)
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// traceOptions says what the world's sysctls say: n2 does not forward.
var traceOptions = lookup.TraceOptions{Forwarding: func(dev string) bool { return dev != "n2" }}

// kernelRules are the rules a namespace starts with.
func kernelRules() []netcfg.Rule {
	var out []netcfg.Rule
	for _, d := range []struct {
		f     netcfg.Family
		prio  uint32
		table uint32
	}{{netcfg.V4, 0, netcfg.TableLocal}, {netcfg.V4, 32766, netcfg.TableMain}, {netcfg.V4, 32767, netcfg.TableDefault},
		{netcfg.V6, 0, netcfg.TableLocal}, {netcfg.V6, 32766, netcfg.TableMain}} {
		r := netcfg.NewRule()
		r.Family, r.Priority, r.Table, r.Proto = d.f, d.prio, d.table, netcfg.ProtoKernel
		out = append(out, r)
	}
	return out
}

// exec runs ops one by one and returns how many the kernel refused; the
// generator does not avoid every duplicate, and the state is read back
// rather than assumed.
func execEach(t *testing.T, k netcfg.Kernel, ops []netcfg.Op) int {
	t.Helper()
	refused := 0
	for _, o := range ops {
		if res := k.Exec([]netcfg.Op{o}); res.Failed != nil {
			refused++
		}
	}
	return refused
}

// applyConfig takes away the previous configuration, restores the
// kernel's own rules and builds cfg.
func applyConfig(t *testing.T, k netcfg.Kernel, cfg traceConfig) {
	t.Helper()
	rules, err := k.Rules()
	if err != nil {
		t.Fatal(err)
	}
	var ops []netcfg.Op
	for i := range rules {
		if rules[i].Proto == traceProto {
			ops = append(ops, netcfg.Op{Kind: netcfg.OpDelRule, Rule: &rules[i]})
		}
	}
	for _, kr := range kernelRules() {
		if !slices.ContainsFunc(rules, func(r netcfg.Rule) bool { return netcfg.RuleEqual(&r, &kr) }) {
			ops = append(ops, netcfg.Op{Kind: netcfg.OpAddRule, Rule: &kr})
		}
	}
	var routes []netcfg.Route
	err = k.Routes(netcfg.RouteQuery{Proto: traceProto}, func(r *netcfg.Route) error {
		routes = append(routes, *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range routes {
		ops = append(ops, netcfg.Op{Kind: netcfg.OpDelRoute, Route: &routes[i]})
	}
	if n := execEach(t, k, ops); n > 0 {
		t.Fatalf("reset: the kernel refused %d of %d ops", n, len(ops))
	}
	ops = ops[:0]
	for _, kr := range kernelRules() {
		if slices.Contains(cfg.moves, traceMove{kr.Family, kr.Priority}) {
			ops = append(ops, netcfg.Op{Kind: netcfg.OpDelRule, Rule: &kr})
		}
	}
	for i := range cfg.rules {
		ops = append(ops, netcfg.Op{Kind: netcfg.OpAddRule, Rule: &cfg.rules[i]})
	}
	// The kernel resolves a gateway when its route is added, and the
	// simulator against the final state: rules and local routes go in
	// first, so that both see the same (see gatewayIsLocal4).
	for _, local := range []bool{true, false} {
		for i := range cfg.routes {
			if (cfg.routes[i].Type == netcfg.RouteLocal) == local {
				ops = append(ops, netcfg.Op{Kind: netcfg.OpAddRoute, Route: &cfg.routes[i]})
			}
		}
	}
	execEach(t, k, ops)
}

// runTraceConfig builds one configuration and compares every packet. It
// returns the number of packets compared and of mismatches.
func runTraceConfig(t *testing.T, ns *nstest.NS, k netcfg.Kernel, seed uint64, verdicts map[lookup.Verdict]int, report bool) (int, int) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 0x6e69637461620a))
	cfg := genConfig(r)
	applyConfig(t, k, cfg)
	state, err := netcfg.Detect(k, netcfg.Names{}, lookup.TraceDetectOptions())
	if err != nil {
		t.Fatalf("seed %d: detect: %v", seed, err)
	}
	var pkts []tracePacket
	for range 12 {
		pkts = append(pkts, genPacket(r, netcfg.V4, &cfg), genPacket(r, netcfg.V6, &cfg))
	}
	var lines []string
	for _, p := range pkts {
		lines = append(lines, "route get "+p.args, "route get "+p.args+" fibmatch")
	}
	answers := routeGet(t, ns, lines)
	n, bad := 0, 0
	for i, p := range pkts {
		get, fib := answers[2*i], answers[2*i+1]
		path, err := lookup.TraceWith(state, p.pkt, traceOptions)
		if err != nil {
			t.Fatalf("seed %d: trace %s: %v", seed, p.args, err)
		}
		if len(path.Missing) > 0 {
			t.Errorf("seed %d: trace %s: tables %v missing from a state read with TraceDetectOptions", seed, p.args, path.Missing)
		}
		n++
		verdicts[path.Verdict]++
		for _, st := range path.Steps {
			rl := st.Rule
			if rl.DSCP != nil || rl.SPort != nil && rl.SPort.Mask != 0 || rl.DPort != nil && rl.DPort.Mask != 0 {
				newSelectorSteps[min(int(st.Result)-1, 1)]++
			}
		}
		if diff := compareTrace(&path, p, get, fib); diff != "" {
			bad++
			if report {
				t.Errorf("seed %d (NICTAB_TRACE_SEED=%d NICTAB_TRACE_CONFIGS=1): ip route get %s\n%s\nkernel: %s\nfibmatch: %s\nsimulator: %s\n%s\n%s",
					seed, seed, p.args, diff, get, fib, pathText(&path), stepsText(&path), ns.Routing())
				report = false
			}
		}
	}
	return n, bad
}

// newSelectorSteps counts steps through rules with the selectors iproute2
// 6.1 cannot write (dscp, port masks): [0] did not match, [1] matched.
var newSelectorSteps [2]int

var failedLine = regexp.MustCompile(`(?m)^RTNETLINK answers: (.*)\nCommand failed -:(\d+)$|^Error: (.*)\nCommand failed -:(\d+)$`)

// routeGet runs the lines in one `ip -batch` and returns one answer per
// line: failing lines are named on stderr by number, the others print
// their JSON on stdout in order.
func routeGet(t *testing.T, ns *nstest.NS, lines []string) []kernelAnswer {
	t.Helper()
	cmd := exec.Command("ip", "-n", ns.Name, "-N", "-j", "-force", "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	failed := map[int]string{}
	for _, m := range failedLine.FindAllStringSubmatch(errb.String(), -1) {
		msg, num := m[1], m[2]
		if msg == "" {
			msg, num = m[3], m[4]
		}
		n, _ := strconv.Atoi(num)
		failed[n-1] = msg
	}
	dec := json.NewDecoder(&out)
	answers := make([]kernelAnswer, len(lines))
	for i := range lines {
		if msg, ok := failed[i]; ok {
			answers[i].Err = msg
			continue
		}
		var v []kernelAnswer
		if err := dec.Decode(&v); err != nil || len(v) != 1 {
			t.Fatalf("decode answer to %q: %v (%d routes)\nstderr: %s", lines[i], err, len(v), errb.String())
		}
		answers[i] = v[0]
	}
	var rest []kernelAnswer
	if err := dec.Decode(&rest); err != io.EOF {
		t.Fatalf("ip printed more answers than asked for (%v); stderr: %s", err, errb.String())
	}
	return answers
}
