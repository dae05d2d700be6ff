//go:build linux

package kernel

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// fakeDumper answers route dump requests on the far end of a socket pair
// as the kernel would, marking every message of its first IPv4 dump
// interrupted (NLM_F_DUMP_INTR), as the kernel does when what it lists
// changes under the dump.
type fakeDumper struct {
	fd             int
	first, settled []netcfg.Route
	// dumps is counted by the serving goroutine and read by the test.
	dumps atomic.Int32
}

func (f *fakeDumper) serve(t *testing.T, links *linkIndexer) {
	buf := make([]byte, 1<<16)
	for {
		n, err := unix.Read(f.fd, buf)
		if err != nil || n == 0 {
			return
		}
		seq := binary.NativeEndian.Uint32(buf[8:])
		fam := buf[nlHdrLen]
		var rs []netcfg.Route
		var flags uint16 = unix.NLM_F_MULTI
		if fam == unix.AF_INET {
			n := f.dumps.Add(1)
			rs = f.settled
			if n == 1 {
				rs, flags = f.first, flags|unix.NLM_F_DUMP_INTR
			}
		}
		w := &rtnl{seq: seq - 1}
		// Three routes a datagram, as the kernel splits a dump.
		for i := 0; i < len(rs); i += 3 {
			w.wbuf = w.wbuf[:0]
			for j := i; j < min(i+3, len(rs)); j++ {
				w.seq = seq - 1
				if err := w.encodeRoute(unix.RTM_NEWROUTE, flags, &rs[j], links); err != nil {
					t.Error(err)
					return
				}
			}
			if _, err := unix.Write(f.fd, w.wbuf); err != nil {
				return
			}
		}
		w.wbuf = w.wbuf[:0]
		w.seq = seq - 1
		off, _ := w.begin(unix.NLMSG_DONE, flags)
		w.wbuf = append(w.wbuf, 0, 0, 0, 0)
		w.end(off)
		if _, err := unix.Write(f.fd, w.wbuf); err != nil {
			return
		}
	}
}

// pairReader is a Reader whose routes come through the codec from a
// fakeDumper.
type pairReader struct {
	c     *rtnl
	links linkIndexer
}

func (p *pairReader) Links() ([]netcfg.Link, error) {
	return []netcfg.Link{{Index: 2, Name: "eth0"}}, nil
}
func (p *pairReader) Rules() ([]netcfg.Rule, error) { return nil, nil }
func (p *pairReader) Routes(q netcfg.RouteQuery, fn func(*netcfg.Route) error) error {
	return p.c.routes(q, &p.links, fn)
}

// TestInterruptedDumpIsReadAgain checks that a dump the kernel marks
// interrupted is reported as such by the codec after it ends, and that
// detection then reads the table again instead of keeping the mix of old
// and new routes the first dump gave.
func TestInterruptedDumpIsReadAgain(t *testing.T) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	links := linkIndexer{byName: map[string]int{"eth0": 2}, byIndex: map[int]string{2: "eth0"}}
	route := func(dst string) netcfg.Route {
		return netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix(dst), Gw: netip.MustParseAddr("10.0.0.1"), Dev: "eth0", Proto: netcfg.ProtoNictab}
	}
	f := &fakeDumper{fd: pair[1]}
	for i := range 10 {
		f.first = append(f.first, route(netip.PrefixFrom(netip.AddrFrom4([4]byte{20, 0, byte(i), 0}), 24).String()))
		f.settled = append(f.settled, route(netip.PrefixFrom(netip.AddrFrom4([4]byte{30, 0, byte(i), 0}), 24).String()))
	}
	// The first dump saw half of the old routes and half of the new.
	f.first = append(f.first[:5:5], f.settled[5:]...)
	done := make(chan struct{})
	go func() { f.serve(t, &links); close(done) }()
	c := &rtnl{ns: -1, fd: pair[0], rbuf: make([]byte, 1<<16), oneShot: true}
	defer func() {
		unix.Close(pair[0])
		unix.Close(pair[1])
		<-done
	}()

	// The codec streams the first dump, then says it was interrupted.
	var streamed int
	err = c.routes(netcfg.RouteQuery{Table: 13, Family: netcfg.V4}, &links, func(*netcfg.Route) error { streamed++; return nil })
	if !errors.Is(err, netcfg.ErrDumpInterrupted) || streamed != len(f.first) {
		t.Fatalf("first dump: %d routes, err %v; want %d routes and ErrDumpInterrupted", streamed, err, len(f.first))
	}

	// Detection reads again and keeps only the settled table.
	f.dumps.Store(0)
	s, err := netcfg.Detect(&pairReader{c: c, links: links}, netcfg.Names{}, netcfg.DetectOptions{Tables: []uint32{13}})
	if err != nil {
		t.Fatal(err)
	}
	var got []netcfg.Route
	for _, r := range s.Routes {
		if r.Table == 13 {
			got = append(got, r)
		}
	}
	if n := f.dumps.Load(); n < 2 {
		t.Errorf("table 13 was dumped %d times; the interrupted dump was not read again", n)
	}
	if !slices.EqualFunc(got, f.settled, func(a, b netcfg.Route) bool { return netcfg.RouteEqual(&a, &b) }) {
		t.Errorf("detection kept %d routes of table 13, want the %d of the settled table: %v", len(got), len(f.settled), got)
	}
}

// TestLeftDumpInterruptedIsReadAgain checks that a dump of every table
// left over budget (routesOfTables) after messages the kernel marked
// interrupted says it was interrupted, not over budget: what it read
// before it was left is read again.
func TestLeftDumpInterruptedIsReadAgain(t *testing.T) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	links := linkIndexer{byName: map[string]int{"eth0": 2}, byIndex: map[int]string{2: "eth0"}}
	f := &fakeDumper{fd: pair[1]}
	for i := range 10 {
		f.first = append(f.first, netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{20, 0, byte(i), 0}), 24), Dev: "eth0", Proto: 186})
	}
	done := make(chan struct{})
	go func() { f.serve(t, &links); close(done) }()
	c := &rtnl{ns: -1, fd: pair[0], rbuf: make([]byte, 1<<16)}
	var kept int
	// Routes of table 13, protocol 186: passed over, past a budget of 2.
	err = c.routesOfTables(netcfg.V4, []uint32{99}, netcfg.ProtoNictab, 2, &links, func(*netcfg.Route) error { kept++; return nil })
	// Leaving the dump replaced the socket pair's end with a socket of
	// the test's own namespace, closed here: the dumper ends.
	unix.Close(pair[1])
	<-done
	c.Close()
	if !errors.Is(err, netcfg.ErrDumpInterrupted) || kept != 0 {
		t.Errorf("left dump: %d routes kept, err %v; want none and ErrDumpInterrupted", kept, err)
	}
	if c.tablesLeft != 0 {
		t.Errorf("an interrupted dump counted as left over budget")
	}
}
