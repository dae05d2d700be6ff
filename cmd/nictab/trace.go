package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
	"github.com/nictab/nictab/snapshots/format"
	"github.com/nictab/nictab/ui"
)

func init() {
	register(func(a *app) *cobra.Command { return a.traceCmd() })
}

// traceFlags are the packet's fields as the command line gives them.
type traceFlags struct {
	from, iif, oif, fwmark, uid, ipproto, sport, dport, tos string
	dscp, flowlabel, tunID                                  string
	planned                                                 string
	asJSON                                                  bool
}

func (a *app) traceCmd() *cobra.Command {
	var f traceFlags
	c := &cobra.Command{
		Use:   "trace DST [--from SRC] [--iif DEV] [--oif DEV] [--fwmark M] [--uid N] [--ipproto P] [--sport N] [--dport N] [--tos T | --dscp D] [--flowlabel L] [--tun-id N] [--planned FILE]",
		Short: "Show the path a packet takes: the rules tried, the one that matches, the route",
		Long: `Route a packet to DST through the rules and tables as the kernel does, and
show every rule it tries, the rule that decides, the table and route it
gets, and the NIC, gateway and source address it leaves with, or why it has
no route. Nothing is sent; only the routing state is read.

Without --iif the packet is one this host sends; with --iif DEV it arrives on
DEV (give its source with --from) and is forwarded or delivered here.

--planned FILE traces the packet also in the state a snapshot file would
bring, and shows both paths side by side.

A rule that selects on a field the probe does not give (dscp or tos,
flowlabel, ipproto, ports, tun_id of an arriving packet) makes the answer
"undetermined", naming the rule and the flag that would decide it: nictab
does not guess what a real packet carries.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runTrace(args[0], f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.from, "from", "", "source address")
	fl.StringVar(&f.iif, "iif", "", "the packet arrives on this NIC")
	fl.StringVar(&f.oif, "oif", "", "the packet is sent through this device (a socket bound to it)")
	fl.StringVar(&f.fwmark, "fwmark", "", "the packet's firewall mark (0x13)")
	fl.StringVar(&f.uid, "uid", "", "the user that sends the packet (default: you)")
	fl.StringVar(&f.ipproto, "ipproto", "", "IP protocol: tcp, udp, icmp, ipv6-icmp or a number")
	fl.StringVar(&f.sport, "sport", "", "source port")
	fl.StringVar(&f.dport, "dport", "", "destination port")
	fl.StringVar(&f.tos, "tos", "", "the DS field (0x10)")
	fl.StringVar(&f.dscp, "dscp", "", "the DSCP (0–63; the DS field is it shifted left by 2)")
	fl.StringVar(&f.flowlabel, "flowlabel", "", "an IPv6 packet's flow label (0–0xfffff)")
	fl.StringVar(&f.tunID, "tun-id", "", "the tunnel id of a packet that arrives through a metadata-collecting tunnel (needs --iif)")
	fl.StringVar(&f.planned, "planned", "", "also trace in the state this snapshot file would bring")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON")
	return c
}

// tracePacket reads the packet from the command line.
func tracePacket(dst string, f traceFlags) (netcfg.Packet, error) {
	var p netcfg.Packet
	var err error
	if p.Dst, err = netip.ParseAddr(dst); err != nil {
		return p, usagef("%q is not an IP address (give the destination as 8.8.8.8 or 2001:db8::1)", dst)
	}
	if f.from != "" {
		if p.Src, err = netip.ParseAddr(f.from); err != nil {
			return p, usagef("--from %q is not an IP address", f.from)
		}
	}
	if f.iif != "" && !p.Src.IsValid() {
		return p, usagef("--iif needs --from: a packet that arrives has a source address")
	}
	p.IIF, p.OIF = f.iif, f.oif
	num := func(flag, v string, bits int) (uint64, error) {
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseUint(v, 0, bits)
		if err != nil {
			return 0, usagef("--%s %q is not a number from 0 to %d", flag, v, uint64(1)<<bits-1)
		}
		return n, nil
	}
	var n uint64
	if n, err = num("fwmark", f.fwmark, 32); err != nil {
		return p, err
	}
	p.Mark = uint32(n)
	if f.uid != "" {
		if n, err = num("uid", f.uid, 32); err != nil {
			return p, err
		}
		u := uint32(n)
		p.UID = &u
	} else if f.iif == "" && os.Geteuid() != 0 {
		// A packet this host sends is sent by someone: by default the
		// person asking, as with ip route get.
		u := uint32(os.Getuid())
		p.UID = &u
	}
	if f.ipproto != "" {
		if p.IPProto, err = netcfg.ParseIPProto(f.ipproto); err != nil {
			return p, usagef("--ipproto: %v", err)
		}
	}
	if n, err = num("sport", f.sport, 16); err != nil {
		return p, err
	}
	p.SPort = uint16(n)
	if n, err = num("dport", f.dport, 16); err != nil {
		return p, err
	}
	p.DPort = uint16(n)
	if n, err = num("tos", f.tos, 8); err != nil {
		return p, err
	}
	p.Tos = uint8(n)
	if f.dscp != "" {
		if f.tos != "" {
			return p, usagef("give --tos or --dscp, not both: both set the DS field")
		}
		if n, err = num("dscp", f.dscp, 6); err != nil {
			return p, err
		}
		p.Tos = uint8(n) << 2
	}
	if n, err = num("flowlabel", f.flowlabel, 20); err != nil {
		return p, err
	}
	p.FlowLabel = uint32(n)
	if f.flowlabel != "" && p.Dst.Is4() {
		return p, usagef("--flowlabel is a field of IPv6 packets")
	}
	if n, err = num("tun-id", f.tunID, 64); err != nil {
		return p, err
	}
	p.TunID = n
	if f.tunID != "" && f.iif == "" {
		return p, usagef("--tun-id needs --iif: only a packet that arrives through a tunnel has a tunnel id")
	}
	// What the command line does not say, nictab does not guess.
	for _, u := range []struct {
		given bool
		field netcfg.PacketFields
	}{
		{f.tos != "" || f.dscp != "", netcfg.FieldTos},
		{f.flowlabel != "" || p.Dst.Is4(), netcfg.FieldFlowLabel},
		{f.ipproto != "", netcfg.FieldIPProto},
		{f.sport != "", netcfg.FieldSPort},
		{f.dport != "", netcfg.FieldDPort},
		// A packet this host sends carries no tunnel id.
		{f.tunID != "" || f.iif == "", netcfg.FieldTunID},
	} {
		if !u.given {
			p.Unknown |= u.field
		}
	}
	return p, nil
}

func (a *app) runTrace(dst string, f traceFlags) error {
	pkt, err := tracePacket(dst, f)
	if err != nil {
		return err
	}
	var planned *format.Snapshot
	if f.planned != "" {
		// The file is read before the kernel: a file that does not parse
		// is bad input whatever the host.
		if planned, err = loadIntent(f.planned); err != nil {
			return err
		}
	}
	k, err := a.openKernel()
	if err != nil {
		return err
	}
	defer k.Close()
	names := a.loadNames()
	opts := lookup.TraceDetectOptions()
	if planned != nil {
		// The projection needs what nictab owns, and the tables it manages
		// in full, which a rule may send packets to only after the plan.
		opts.Owned = true
		for _, t := range planned.Intent.Tables {
			opts.Tables = append(opts.Tables, t.ID)
		}
	}
	live, err := netcfg.Detect(k, names, opts)
	if err != nil {
		return fmt.Errorf("read the routing state: %w", err)
	}
	topts := lookup.TraceOptions{Forwarding: a.forwarding()}
	now, err := lookup.TraceWith(live, pkt, topts)
	if err != nil {
		return packetUsage(err)
	}
	if planned == nil {
		if f.asJSON {
			return writeJSON(a.out, now)
		}
		_, err = fmt.Fprint(a.out, ui.RenderTrace(now, &live.Names, a.width(), a.styles()))
		return err
	}
	then, plannedState, err := a.tracePlanned(k, names, opts, live, planned, pkt, topts)
	if err != nil {
		return err
	}
	c := ui.CompareTraces(now, then)
	if f.asJSON {
		return writeJSON(a.out, c)
	}
	_, err = fmt.Fprint(a.out, ui.RenderTraceCompare(c, &live.Names, &plannedState.Names, a.width(), a.styles()))
	return err
}

// tracePlanned traces pkt in the state the snapshot would bring: planned
// by the engine as apply plans it (its priorities, the objects it leaves
// alone), and projected, without applying.
func (a *app) tracePlanned(k netcfg.Kernel, names netcfg.Names, opts netcfg.DetectOptions, live netcfg.State, s *format.Snapshot,
	pkt netcfg.Packet, topts lookup.TraceOptions) (lookup.Path, netcfg.State, error) {
	e, err := a.engine()
	if err != nil {
		return lookup.Path{}, netcfg.State{}, err
	}
	prop, err := a.propose(e, s, "")
	if err != nil {
		return lookup.Path{}, netcfg.State{}, err
	}
	// The plan reads only the tables it changes; the trace also walks
	// main, local, default and every table a rule sends packets to, so
	// the plan is projected onto the state read for the trace, with the
	// tables named by number only in the file's NICs and rules added.
	missing := false
	for _, t := range prop.Desired.Tables {
		if !live.HasTable(t) {
			opts.Tables, missing = append(opts.Tables, t), true
		}
	}
	if missing {
		if live, err = netcfg.Detect(k, names, opts); err != nil {
			return lookup.Path{}, netcfg.State{}, fmt.Errorf("read the routing state: %w", err)
		}
	}
	after := lookup.ProjectPlan(live, prop.Plan)
	p, err := lookup.TraceWith(after, pkt, topts)
	if err != nil {
		return lookup.Path{}, netcfg.State{}, packetUsage(err)
	}
	return p, after, nil
}

// packetUsage makes a packet the simulator cannot route (an unknown
// device, mixed families) bad input.
func packetUsage(err error) error {
	var pe *lookup.PacketError
	switch {
	case !errors.As(err, &pe):
		return err
	case pe.Field == "destination":
		return usagef("DST: %s", pe.Msg)
	}
	return usagef("--%s: %s", pe.Field, pe.Msg)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// width is the terminal's width, or 100 when the output is not one.
func (a *app) width() int {
	if f, ok := a.out.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
			return int(ws.Col)
		}
	}
	return 100
}

// forwarding reads net.ipv4.conf.DEV.forwarding in the namespace nictab
// works in, for packets that arrive. A value it cannot read counts as
// forwarding, which the trace then assumes.
func (a *app) forwarding() func(dev string) bool {
	return func(dev string) bool {
		if strings.ContainsAny(dev, "/\x00") || dev == "." || dev == ".." {
			return true
		}
		v, err := a.readSysctl("/proc/sys/net/ipv4/conf/" + dev + "/forwarding")
		return err != nil || v != "0"
	}
}

// readSysctl reads a /proc/sys/net file as the namespace of --netns sees
// it: /proc/sys/net answers for the namespace of the thread that opens it,
// so a thread of its own enters the namespace for the read. Should it fail
// to come back, it stays locked and ends with its goroutine instead of
// serving others from the wrong namespace.
func (a *app) readSysctl(path string) (string, error) {
	if a.netns == "" {
		b, err := os.ReadFile(path)
		return strings.TrimSpace(string(b)), err
	}
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		target, err := netns.GetFromName(a.netns)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer target.Close()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		b, rerr := os.ReadFile(path)
		if err := netns.Set(orig); err != nil {
			ch <- result{err: fmt.Errorf("return to own network namespace: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{v: strings.TrimSpace(string(b)), err: rerr}
	}()
	r := <-ch
	return r.v, r.err
}
