//go:build linux

package kernel_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg/kernel"
)

const runNetnsChild = "NICTAB_RUN_NETNS_CHILD"

// TestNamedNSSurvivesIPNetnsAdd: on a machine where /run/netns is not yet
// a mount (a fresh one), a namespace nictab made and then an `ip netns
// add` by someone else must leave the first one removable. Without the
// shared mount iproute2 expects, ip bound /run/netns over itself, the first
// namespace's mount was hidden beneath it, and removing its file failed
// with EBUSY for good. The check runs in a mount namespace of its own,
// where /run/netns is made a plain directory again.
func TestNamedNSSurvivesIPNetnsAdd(t *testing.T) {
	if os.Getenv(runNetnsChild) == "1" {
		namedNSSurvivesIPNetnsAdd(t)
		return
	}
	nstest.RequireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", exe, "-test.run", "^TestNamedNSSurvivesIPNetnsAdd$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), runNetnsChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the check in its own mount namespace: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "checked: removable after ip netns add") {
		t.Fatalf("the check did not run:\n%s", out)
	}
}

func namedNSSurvivesIPNetnsAdd(t *testing.T) {
	for unix.Unmount("/run/netns", unix.MNT_DETACH) == nil {
	}
	ours, theirs := fmt.Sprintf("nsk%d-ours", os.Getpid()), fmt.Sprintf("nsk%d-theirs", os.Getpid())
	h, err := kernel.NewNamedNS(ours)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if out, err := exec.Command("ip", "netns", "add", theirs).CombinedOutput(); err != nil {
		_ = kernel.DeleteNamedNS(ours)
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	defer func() {
		if out, err := exec.Command("ip", "netns", "del", theirs).CombinedOutput(); err != nil {
			t.Errorf("ip netns del: %v: %s", err, out)
		}
	}()
	if err := kernel.DeleteNamedNS(ours); err != nil {
		t.Fatalf("the namespace made before ip's cannot be removed: %v", err)
	}
	if _, err := os.Stat("/run/netns/" + ours); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("/run/netns/%s is still there: %v", ours, err)
	}
	fmt.Println("checked: removable after ip netns add")
}
