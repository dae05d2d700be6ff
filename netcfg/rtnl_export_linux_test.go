//go:build linux

package netcfg

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// SqueezeExecWindow gives k's route socket a receive buffer of rcvbuf
// bytes and a window of window requests, so that tests can make the kernel
// drop ACKs, as a window sized wrongly would.
func SqueezeExecWindow(k Kernel, rcvbuf, window int) error {
	lk, ok := k.(*linuxKernel)
	if !ok {
		return fmt.Errorf("%T is not the netlink kernel", k)
	}
	if err := unix.SetsockoptInt(lk.c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf); err != nil {
		return fmt.Errorf("set receive buffer: %w", err)
	}
	lk.c.window, lk.c.acks = window, nil
	return nil
}

// LostACKWindows says how many windows of k lost ACKs to a full receive
// buffer.
func LostACKWindows(k Kernel) int { return k.(*linuxKernel).c.lostWindows }
