//go:build linux

package kernel

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// capNetAdmin is CAP_NET_ADMIN's bit in the capability sets.
const capNetAdmin = 12

// capSysAdmin is CAP_SYS_ADMIN's bit: setns(2) into a network namespace
// needs it.
const capSysAdmin = 21

// CanEnterNamespace reports whether this process may enter a named
// network namespace.
func CanEnterNamespace() bool { return hasCap(capSysAdmin) }

// CanAdmin reports whether this process has CAP_NET_ADMIN, which every
// routing change needs. Reading works without it.
func CanAdmin() bool { return hasCap(capNetAdmin) }

func hasCap(bit uint) bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return os.Geteuid() == 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<bit) != 0
		}
	}
	return false
}
