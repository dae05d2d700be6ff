package snapshots_test

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/nictab/nictab/internal/sshsession"
)

// TestStartGuardSameReport: the guard whose connections StartGuard read
// ahead reports what the guard that reads them itself does, with an SSH
// session and without, and a second GuardPlan reads afresh.
func TestStartGuardSameReport(t *testing.T) {
	r := newRig(t)
	r.apply(nicIntent("eno1", 13), "A", 0)
	p, err := r.e.Propose(nicIntent("eno1", 14), "B")
	if err != nil {
		t.Fatal(err)
	}
	ssh := &sshsession.Conn{Client: netip.MustParseAddrPort("192.0.2.7:51000")}
	for _, c := range []*sshsession.Conn{nil, ssh} {
		want, err := r.e.GuardPlan(p, c)
		if err != nil {
			t.Fatal(err)
		}
		r.e.StartGuard()
		r.e.StartGuard() // a second start reads nothing more
		got, err := r.e.GuardPlan(p, c)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ssh=%v: read ahead %+v, want %+v", c != nil, got, want)
		}
		again, err := r.e.GuardPlan(p, c)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, want) {
			t.Errorf("ssh=%v: after the read ahead %+v, want %+v", c != nil, again, want)
		}
	}
}
