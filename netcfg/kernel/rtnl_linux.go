//go:build linux

package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"syscall"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// rtnl is a raw NETLINK_ROUTE socket in one network namespace.
//
// NOTE: routes and rules go through this hand-written codec rather than
// vishvananda/netlink because the library cannot do what nictab needs at
// scale: its route dump appends a 376-byte struct per route to one slice
// (1.5 GB for a full Internet table), it filters tables in user space, and
// it sends one request and waits for its answer before the next, so 100k
// routes take seconds. Here dumps stream with the kernel doing the
// filtering (NETLINK_GET_STRICT_CHK), and writes are pipelined with an ACK
// per request so every error maps back to its op.
type rtnl struct {
	ns   netns.NsHandle // -1: the namespace the process runs in
	fd   int
	pid  uint32
	seq  uint32
	rbuf []byte
	// pooled is rbuf's place in rbufs, to hand it back on Close; nil
	// for a buffer of the socket's own or borrowed.
	pooled *[]byte
	wbuf   []byte
	// arena holds the requests exec encoded, between two calls.
	arena []byte
	// window is how many requests exec sends before reading their ACKs,
	// and sendMax how many bytes of requests one sendmsg may carry; both
	// follow from the socket buffers the kernel granted.
	window  int
	sendMax int
	acks    *ackRing
	// oneShot marks a socket opened for one dump and closed after it
	// (openOneShot).
	oneShot bool
	// oneShotLooked and oneShotTaken count the datagrams of one-shot
	// dumps looked at and taken off their sockets, for the sockets they
	// were opened from (tests look at them).
	oneShotLooked, oneShotTaken int
	// lostWindows counts windows whose ACKs the kernel dropped.
	lostWindows int
	// streamBufs are dumpStream's datagram buffers, made at its first use.
	streamBufs [][]byte
	// ruleDumps counts the dumps of the rules, for tests of what reads
	// the kernel.
	ruleDumps int
	// tablesDumps and tablesLeft count the dumps of routesOfTables and
	// those of them left over budget, for tests.
	tablesDumps, tablesLeft int
	// mainBig4 and mainBig6 say whether the last read of main's default
	// routes found more than mainProbe4 IPv4 or mainProbe IPv6 routes in
	// main.
	mainBig4, mainBig6 bool
}

// openRtnl opens a route socket inside ns (netns.None() for the current
// namespace). The handle is duplicated so the caller may close its own.
func openRtnl(ns netns.NsHandle) (*rtnl, error) {
	b := rbufs.Get().(*[]byte)
	c, err := openRtnlWith(ns, *b)
	if err != nil {
		rbufs.Put(b)
		return nil, err
	}
	c.pooled = b
	return c, nil
}

// rbufLen is the size of a route socket's read buffer: a datagram of a
// dump whose messages are large (a link's, with many VFs) fits.
const rbufLen = 1 << 20

// rbufs are the read buffers of closed route sockets.
//
// NOTE: a command opens a kernel for each of its steps, one after the
// other, and read the links through a socket of its own each time. A
// megabyte made for each was 0.3–0.4 ms of opening a kernel in a loop,
// and 1–10 ms in a command right after it had read a large file (the
// collector then runs); handed on, it is made once.
var rbufs = sync.Pool{New: func() any {
	b := make([]byte, rbufLen)
	return &b
}}

// openRtnlWith is openRtnl with rbuf as the socket's read buffer.
func openRtnlWith(ns netns.NsHandle, rbuf []byte) (*rtnl, error) {
	c := &rtnl{ns: -1, rbuf: rbuf}
	if ns.IsOpen() {
		fd, err := unix.Dup(int(ns))
		if err != nil {
			return nil, fmt.Errorf("dup namespace handle: %w", err)
		}
		c.ns = netns.NsHandle(fd)
	}
	if err := c.open(); err != nil {
		c.ns.Close()
		return nil, err
	}
	return c, nil
}

func (c *rtnl) open() error {
	fd, err := socketIn(c.ns, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	// Strict checking makes the kernel filter dumps by table and protocol
	// instead of sending every route of every table; CAP_ACK keeps ACKs
	// small (the request is not echoed); EXT_ACK carries the kernel's
	// reason for a refusal ("Nexthop has invalid gateway").
	for _, o := range []int{unix.NETLINK_GET_STRICT_CHK, unix.NETLINK_CAP_ACK, unix.NETLINK_EXT_ACK} {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, o, 1); err != nil && o == unix.NETLINK_GET_STRICT_CHK {
			unix.Close(fd)
			return fmt.Errorf("netlink strict checking (kernel 4.20 or newer needed): %w", err)
		}
	}
	// Pipelined writes queue an answer per refused request; the receive
	// buffer must hold a whole window of them or the kernel drops some
	// (ENOBUFS). The
	// FORCE options need CAP_NET_ADMIN, which writing needs anyway; without
	// it the buffers stay within net.core.[rw]mem_max and the window
	// shrinks to fit what was granted.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 1<<20); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
	}
	rcv, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("netlink receive buffer size: %w", err)
	}
	snd, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("netlink send buffer size: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return fmt.Errorf("bind netlink socket: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("netlink socket name: %w", err)
	}
	c.fd = fd
	c.pid = sa.(*unix.SockaddrNetlink).Pid
	c.setWindow(rcv, snd)
	return nil
}

// setWindow sizes exec's windows for a socket with rcv bytes of receive
// buffer and snd of send buffer, as getsockopt reports them.
func (c *rtnl) setWindow(rcv, snd int) {
	w := min(max(rcv/ackTruesize, execMinWindow), execMaxWindow)
	if c.acks != nil && len(c.acks.hdrs) < w {
		c.acks = nil
	}
	c.window = w
	// The kernel refuses a sendmsg longer than the send buffer less a
	// little; a window stops growing at half of it, so the request that
	// crosses the mark still fits.
	c.sendMax = max(snd/2, 4096)
}

// socketIn creates a netlink socket inside ns. Sockets keep the namespace
// they were created in, so the thread switches only for the socket call.
func socketIn(ns netns.NsHandle, proto int) (int, error) {
	if !ns.IsOpen() {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return -1, fmt.Errorf("netlink socket: %w", err)
		}
		return fd, nil
	}
	runtime.LockOSThread()
	cur, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return -1, fmt.Errorf("current network namespace: %w", err)
	}
	defer cur.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return -1, fmt.Errorf("enter network namespace: %w", err)
	}
	fd, serr := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err := netns.Set(cur); err != nil {
		// The thread is stuck in the other namespace: leave it locked so
		// it dies with this goroutine instead of serving others.
		if serr == nil {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("return to own network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	if serr != nil {
		return -1, fmt.Errorf("netlink socket: %w", serr)
	}
	return fd, nil
}

func (c *rtnl) Close() error {
	if c.fd > 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
	if c.ns.IsOpen() {
		c.ns.Close()
		c.ns = -1
	}
	if c.pooled != nil {
		c.rbuf = nil
		rbufs.Put(c.pooled)
		c.pooled = nil
	}
	return nil
}

// reset replaces the socket after a dump was abandoned half-way: the rest of
// that dump would otherwise arrive as the answer to the next request.
func (c *rtnl) reset() error {
	unix.Close(c.fd)
	c.fd = -1
	return c.open()
}

const nlHdrLen = unix.SizeofNlMsghdr

// begin starts a message in wbuf and returns its offset.
func (c *rtnl) begin(typ, flags uint16) (off int, seq uint32) {
	c.seq++
	off = len(c.wbuf)
	var h [nlHdrLen]byte
	binary.NativeEndian.PutUint16(h[4:], typ)
	binary.NativeEndian.PutUint16(h[6:], flags)
	binary.NativeEndian.PutUint32(h[8:], c.seq)
	binary.NativeEndian.PutUint32(h[12:], c.pid)
	c.wbuf = append(c.wbuf, h[:]...)
	return off, c.seq
}

// end writes the length of the message that starts at off.
func (c *rtnl) end(off int) {
	binary.NativeEndian.PutUint32(c.wbuf[off:], uint32(len(c.wbuf)-off))
}

func (c *rtnl) attr(typ uint16, data []byte) {
	l := 4 + len(data)
	var h [4]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(l))
	binary.NativeEndian.PutUint16(h[2:], typ)
	c.wbuf = append(c.wbuf, h[:]...)
	c.wbuf = append(c.wbuf, data...)
	for l%4 != 0 {
		c.wbuf = append(c.wbuf, 0)
		l++
	}
}

func (c *rtnl) attrU32(typ uint16, v uint32) {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], v)
	c.attr(typ, b[:])
}

func (c *rtnl) attrU8(typ uint16, v uint8) { c.attr(typ, []byte{v}) }

// attrAddr appends an address attribute without the slice addrBytes
// would allocate: it runs once or twice per route written.
func (c *rtnl) attrAddr(typ uint16, a netip.Addr) {
	if a.Is4() {
		b := a.As4()
		c.attr(typ, b[:])
		return
	}
	b := a.As16()
	c.attr(typ, b[:])
}

func (c *rtnl) send() error {
	defer func() { c.wbuf = c.wbuf[:0] }()
	for {
		// No address: an unconnected netlink socket sends to the kernel.
		err := unix.Sendto(c.fd, c.wbuf, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("netlink send: %w", err)
		}
		return nil
	}
}

// recv reads one datagram of netlink messages.
func (c *rtnl) recv() ([]byte, error) { return c.recvFlags(0) }

func (c *rtnl) recvFlags(flags int) ([]byte, error) {
	for {
		n, _, err := unix.Recvfrom(c.fd, c.rbuf, flags)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			if errors.Is(err, unix.ENOBUFS) {
				return nil, fmt.Errorf("netlink receive: kernel dropped messages (socket buffer full): %w", err)
			}
			return nil, fmt.Errorf("netlink receive: %w", err)
		}
		return c.rbuf[:n], nil
	}
}

// nlMsg is one message inside a datagram.
type nlMsg struct {
	typ   uint16
	flags uint16
	seq   uint32
	data  []byte // payload after the header
}

// eachMsg calls fn for every message of a datagram.
func eachMsg(b []byte, fn func(m nlMsg) error) error {
	for len(b) >= nlHdrLen {
		l := int(binary.NativeEndian.Uint32(b))
		if l < nlHdrLen || l > len(b) {
			return fmt.Errorf("netlink: malformed message of length %d", l)
		}
		m := nlMsg{
			typ:   binary.NativeEndian.Uint16(b[4:]),
			flags: binary.NativeEndian.Uint16(b[6:]),
			seq:   binary.NativeEndian.Uint32(b[8:]),
			data:  b[nlHdrLen:l],
		}
		if err := fn(m); err != nil {
			return err
		}
		a := (l + 3) &^ 3
		if a > len(b) {
			break
		}
		b = b[a:]
	}
	return nil
}

// Error is a refusal from the kernel, with the reason it gave in an
// extended ACK when it gave one.
type Error struct {
	Errno syscall.Errno
	Msg   string
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Msg + " (" + e.Errno.Error() + ")"
	}
	return e.Errno.Error()
}

func (e *Error) Unwrap() error { return e.Errno }

// parseErr decodes an NLMSG_ERROR payload; nil means an ACK.
func parseErr(data []byte, flags uint16) error {
	if len(data) < 4 {
		return errors.New("netlink: short error message")
	}
	code := int32(binary.NativeEndian.Uint32(data))
	if code == 0 {
		return nil
	}
	ke := &Error{Errno: syscall.Errno(-code)}
	if flags&unix.NLM_F_ACK_TLVS != 0 && len(data) >= 4+nlHdrLen {
		// With CAP_ACK only the original header is echoed, then TLVs.
		skip := 4 + nlHdrLen
		if flags&unix.NLM_F_CAPPED == 0 {
			skip = 4 + int(binary.NativeEndian.Uint32(data[4:]))
		}
		if skip <= len(data) {
			forAttrs(data[skip:], func(typ uint16, v []byte) {
				if typ == unix.NLMSGERR_ATTR_MSG {
					ke.Msg = cString(v)
				}
			})
		}
	}
	return ke
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// forAttrs walks a run of netlink attributes.
func forAttrs(b []byte, fn func(typ uint16, v []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return
		}
		fn(binary.NativeEndian.Uint16(b[2:])&nlaTypeMask, b[4:l])
		a := (l + 3) &^ 3
		if a > len(b) {
			return
		}
		b = b[a:]
	}
}

// dump sends the request built in wbuf (sequence seq) and calls fn for every
// answer message. fn returning false abandons the dump; the socket is then
// replaced. A dump the kernel marks interrupted is reported as
// ErrDumpInterrupted after it completes, so callers read it again rather
// than trust a partial result.
func (c *rtnl) dump(seq uint32, fn func(m nlMsg) bool) error {
	if err := c.send(); err != nil {
		return err
	}
	intr := false
	for {
		var b []byte
		var err error
		if c.oneShot {
			b, err = c.recvFlags(unix.MSG_PEEK)
			c.oneShotLooked++
		} else {
			b, err = c.recv()
		}
		if err != nil {
			return err
		}
		done, stop := false, false
		var derr error
		err = eachMsg(b, func(m nlMsg) error {
			if m.seq != seq || done || stop {
				return nil
			}
			if m.flags&unix.NLM_F_DUMP_INTR != 0 {
				intr = true
			}
			switch m.typ {
			case unix.NLMSG_DONE:
				done = true
				if len(m.data) >= 4 {
					derr = parseErr(m.data, m.flags)
				}
			case unix.NLMSG_ERROR:
				done = true
				derr = parseErr(m.data, m.flags)
			default:
				if !fn(m) {
					stop = true
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if stop {
			if c.oneShot {
				return nil // closed by its user, never read again
			}
			return c.reset()
		}
		if c.oneShot && !done {
			// Taken only now that it is known to be wanted past: taking
			// a datagram of a dump makes the kernel fill the next one.
			if _, err := c.recv(); err != nil {
				return err
			}
			c.oneShotTaken++
		}
		if done {
			if derr != nil {
				return derr
			}
			if intr {
				return netcfg.ErrDumpInterrupted
			}
			return nil
		}
	}
}

// nlaTypeMask strips NLA_F_NESTED and NLA_F_NET_BYTEORDER from a type.
const nlaTypeMask = 0x3fff
