//go:build linux

package kernel

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// streamBufs and streamBufLen are the datagram buffers of a streamed
// dump: the kernel makes a dump's datagrams at most 32 KB, and three of
// them may wait while the fourth is read.
const (
	streamBufs   = 4
	streamBufLen = 64 << 10
)

// dumpStream is dump for a dump read to its end: one goroutine receives
// the datagrams while this one hands their messages to fn, so that what
// fn does with one datagram overlaps the kernel filling the next (the
// kernel dumps inside the receive call). fn returning false passes over
// the rest, which is still read to the end: the socket needs no reset.
//
// NOTE: a 100k-route table is about 300 datagrams; its dump costs the
// kernel some 50 ms and decoding and keeping its routes 25–30 ms more.
func (c *rtnl) dumpStream(seq uint32, fn func(m nlMsg) bool) error {
	return c.streamDump(seq, fn, false)
}

// dumpStreamLeaving is dumpStream for a dump that fn may leave: fn
// returning false stops the reads within a datagram or two, and the
// socket is replaced, as dump does, so that the kernel fills no more of
// the dump.
func (c *rtnl) dumpStreamLeaving(seq uint32, fn func(m nlMsg) bool) error {
	return c.streamDump(seq, fn, true)
}

func (c *rtnl) streamDump(seq uint32, fn func(m nlMsg) bool, leave bool) error {
	if err := c.send(); err != nil {
		return err
	}
	if c.streamBufs == nil {
		c.streamBufs = make([][]byte, streamBufs)
		for i := range c.streamBufs {
			c.streamBufs[i] = make([]byte, streamBufLen)
		}
	}
	type datagram struct {
		b   []byte
		err error
	}
	free := make(chan []byte, streamBufs)
	for _, b := range c.streamBufs {
		free <- b
	}
	full := make(chan datagram, streamBufs)
	// quit tells the reader that the dump is left: the kernel keeps a
	// datagram of an unfinished dump queued, so a read under way ends.
	quit := make(chan struct{})
	go func() {
		defer close(full)
		for {
			select {
			case <-quit:
				return
			default:
			}
			var b []byte
			select {
			case b = <-free:
			case <-quit:
				return
			}
			n, err := c.recvInto(b)
			if err != nil {
				full <- datagram{err: err}
				return
			}
			// The reader stops at the answer's end: a DONE or an error
			// of this dump's sequence number.
			// A malformed datagram ends it too: its error is the
			// dump's.
			last := false
			if err := eachMsg(b[:n], func(m nlMsg) error {
				if m.seq == seq && (m.typ == unix.NLMSG_DONE || m.typ == unix.NLMSG_ERROR) {
					last = true
				}
				return nil
			}); err != nil {
				last = true
			}
			full <- datagram{b: b[:n]}
			if last {
				return
			}
		}
	}()
	intr, done, stop := false, false, false
	var derr error
	for d := range full {
		if d.err != nil {
			derr = d.err
			continue
		}
		err := eachMsg(d.b, func(m nlMsg) error {
			if m.seq != seq || done {
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
				if !stop && !fn(m) {
					stop = true
					if leave {
						close(quit)
					}
				}
			}
			return nil
		})
		if err != nil && derr == nil {
			derr = err
		}
		free <- d.b[:cap(d.b)]
	}
	if stop && leave {
		// Whatever the dump still had queued goes with the socket. What
		// was read of a dump the kernel marked interrupted is read again.
		if err := c.reset(); err != nil {
			return err
		}
		if intr {
			return netcfg.ErrDumpInterrupted
		}
		return nil
	}
	switch {
	case derr != nil:
		return derr
	case intr:
		return netcfg.ErrDumpInterrupted
	}
	return nil
}

// recvInto reads one datagram into b; one longer than b is an error.
func (c *rtnl) recvInto(b []byte) (int, error) {
	for {
		n, _, err := unix.Recvfrom(c.fd, b, unix.MSG_TRUNC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			if errors.Is(err, unix.ENOBUFS) {
				return 0, fmt.Errorf("netlink receive: kernel dropped messages (socket buffer full): %w", err)
			}
			return 0, fmt.Errorf("netlink receive: %w", err)
		}
		if n > len(b) {
			return 0, fmt.Errorf("netlink receive: a datagram of %d bytes, more than the %d read", n, len(b))
		}
		return n, nil
	}
}
