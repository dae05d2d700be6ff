//go:build linux

package snapshots

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// NOTE: a confirm window's deadline is kept on CLOCK_BOOTTIME, not on the
// wall clock: an NTP step, a person running `date -s`, or a VM resumed
// with a corrected clock would otherwise move the revert (an hour late is a
// cut SSH session kept for an hour). BOOTTIME keeps counting through
// suspend, so a laptop that sleeps past its deadline reverts on waking.
// Its values mean nothing across a reboot, so the journal records the boot
// id beside them; after a reboot the deadline has passed by definition.

// Boottime reads CLOCK_BOOTTIME.
func Boottime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		// Every Linux since 2.6.39 has it; without it there is no safe
		// deadline at all.
		panic(fmt.Sprintf("clock_gettime(CLOCK_BOOTTIME): %v", err))
	}
	return time.Duration(ts.Nano())
}

// BootID identifies this boot of the kernel.
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// procStart is the start time of process pid in clock ticks since boot
// (field 22 of /proc/PID/stat), which tells a live process from a later
// one that reuses its pid. 0 when there is no such process.
func procStart(pid int) uint64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}
