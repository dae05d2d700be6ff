package lookup_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
)

// compareTrace returns what differs between the simulator's path and the
// kernel's answers, or "".
func compareTrace(p *lookup.Path, tp tracePacket, get, fib kernelAnswer) string {
	if !p.Verdict.Delivered() {
		switch {
		case get.Err == "":
			return "the kernel routes the packet; the simulator says " + p.Verdict.String()
		case get.Err != p.Errno.String():
			return fmt.Sprintf("the kernel fails with %q, the simulator with %q", get.Err, p.Errno)
		}
		return ""
	}
	if get.Err != "" {
		return fmt.Sprintf("the kernel fails with %q; the simulator says %s", get.Err, p.Verdict)
	}
	var diffs []string
	differ := func(what, kernel, sim string) {
		if kernel != sim {
			diffs = append(diffs, fmt.Sprintf("%s: kernel %q, simulator %q", what, kernel, sim))
		}
	}
	differ("type", get.Type, typeText(p))
	differ("dev", get.Dev, p.Dev)
	differ("gateway", get.Gateway, addrText(p.Gateway))
	table := ""
	if p.Route != nil && p.Table != netcfg.TableMain {
		table = strconv.FormatUint(uint64(p.Table), 10)
	}
	differ("table", get.Table, table)
	// The kernel reports its choice of source for a packet this host
	// sends without one (IPv6 reports it even when one is given).
	if !p.Input && !tp.pkt.Src.IsValid() {
		differ("source", get.Prefsrc, addrText(p.Src))
	}
	if p.Route == nil {
		return strings.Join(diffs, "; ")
	}
	if fib.Err != "" {
		diffs = append(diffs, "fibmatch fails with "+fib.Err)
		return strings.Join(diffs, "; ")
	}
	differ("matched route", fib.Dst, dstText(p.Route.Dst))
	differ("matched route's table", fib.Table, table)
	metric := 0
	if fib.Metric != nil {
		metric = *fib.Metric
	}
	differ("matched route's metric", strconv.Itoa(metric), strconv.FormatUint(uint64(p.Route.Metric), 10))
	return strings.Join(diffs, "; ")
}

func typeText(p *lookup.Path) string {
	if p.Route != nil && p.Route.Type != netcfg.RouteUnicast {
		return strconv.Itoa(int(p.Route.Type))
	}
	return ""
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func dstText(p netip.Prefix) string {
	switch {
	case p.Bits() == 0:
		return "default"
	case p.IsSingleIP():
		return p.Addr().String()
	}
	return p.String()
}

// kernelAnswer is one `ip -j route get` answer: the route, or the error.
type kernelAnswer struct {
	Err      string
	Type     string `json:"type"`
	Dst      string `json:"dst"`
	Gateway  string `json:"gateway"`
	Dev      string `json:"dev"`
	Table    string `json:"table"`
	Prefsrc  string `json:"prefsrc"`
	Metric   *int   `json:"metric"`
	Tos      string `json:"tos"`
	Protocol string `json:"protocol"`
}

func (a kernelAnswer) String() string {
	if a.Err != "" {
		return "error: " + a.Err
	}
	b, _ := json.Marshal(a)
	return string(b)
}

func pathText(p *lookup.Path) string {
	b, _ := json.Marshal(struct {
		V   lookup.Verdict
		E   lookup.Errno
		T   uint32
		R   string
		Dev string
		Gw  netip.Addr
		Src netip.Addr
		Why string
	}{p.Verdict, p.Errno, p.Table, routeText(p.Route), p.Dev, p.Gateway, p.Src, p.Reason})
	return string(b)
}

func routeText(r *netcfg.Route) string {
	if r == nil {
		return ""
	}
	return netcfg.RouteString(r)
}

func stepsText(p *lookup.Path) string {
	var b strings.Builder
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "  %s  → %s: %s\n", netcfg.RuleString(&s.Rule), s.Result, s.Why)
	}
	return b.String()
}
