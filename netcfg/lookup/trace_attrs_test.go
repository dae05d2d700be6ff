package lookup_test

import (
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/sshsession"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
	"github.com/nictab/nictab/ui"
)

// selectorState sends packets that match the newer selectors to table 180,
// whose default leaves through enp2s0; everything else takes main's
// default through enp2s0's gateway too, but table 180's route is via
// 192.168.20.254 so the two are told apart.
const selectorState = `
rule pref 100 dscp 46 lookup 180
rule pref 101 dscp 8/0x38 lookup 180
rule pref 102 ipproto 6 dport 4096/0xf000 lookup 180
rule pref 103 iif enp2s0 tun_id 5 lookup 180
rule -6 pref 104 flowlabel 0x100/0xff00 lookup 180
route default via 192.168.20.254 dev enp2s0 table 180
route -6 default via 2001:db8:20::fe dev enp2s0 table 180 metric 1024
complete 180
`

// TestTraceNewSelectors: dscp (with and without a mask), port masks,
// tun_id and flowlabel decide as the kernel does, and a probe that does
// not give the field a rule selects on is undetermined, naming the rule.
func TestTraceNewSelectors(t *testing.T) {
	s := traceState(t, homeServer, strings.ReplaceAll(selectorState, "route -6 default via 2001:db8:20::fe", "route default via 2001:db8:20::fe"))
	all := netcfg.PacketFields(0)
	for _, tc := range []struct {
		name string
		pkt  netcfg.Packet
		// rule is the deciding rule's priority; 0 for undetermined.
		rule uint32
		und  string
	}{
		{"dscp 46", netcfg.Packet{Dst: ip("198.51.100.1"), Tos: 46 << 2}, 100, ""},
		{"dscp 46 with ECN", netcfg.Packet{Dst: ip("198.51.100.1"), Tos: 46<<2 | 1}, 100, ""},
		{"dscp 47 misses", netcfg.Packet{Dst: ip("198.51.100.1"), Tos: 47 << 2}, 32766, ""},
		{"dscp 10 under mask 0x38", netcfg.Packet{Dst: ip("198.51.100.1"), Tos: 10 << 2}, 101, ""},
		{"dport 4100 under mask", netcfg.Packet{Dst: ip("198.51.100.1"), IPProto: netcfg.ProtoTCP, DPort: 4100}, 102, ""},
		{"dport 8196 outside mask", netcfg.Packet{Dst: ip("198.51.100.1"), IPProto: netcfg.ProtoTCP, DPort: 8196}, 32766, ""},
		{"tun_id 5 arriving", netcfg.Packet{Dst: ip("198.51.100.1"), Src: ip("203.0.113.9"), IIF: "enp2s0", TunID: 5}, 103, ""},
		{"tun_id 6 arriving", netcfg.Packet{Dst: ip("198.51.100.1"), Src: ip("203.0.113.9"), IIF: "enp2s0", TunID: 6}, 32766, ""},
		{"flowlabel 0x1ab", netcfg.Packet{Dst: ip("2001:db8:99::1"), FlowLabel: 0x1ab}, 104, ""},
		{"flowlabel 0x2ab", netcfg.Packet{Dst: ip("2001:db8:99::1"), FlowLabel: 0x2ab}, 32766, ""},
		{"dscp unknown", netcfg.Packet{Dst: ip("198.51.100.1"), Unknown: netcfg.FieldTos}, 0, "rule 100: from all dscp 46 lookup 180 selects on dscp/tos, which the probe does not give (--dscp or --tos)"},
		{"dport unknown", netcfg.Packet{Dst: ip("198.51.100.1"), IPProto: netcfg.ProtoTCP, Unknown: netcfg.FieldDPort}, 0, "rule 102"},
		// A known selector that excludes the packet settles the rule
		// whatever the unknown field holds.
		{"dport unknown, protocol excludes", netcfg.Packet{Dst: ip("198.51.100.1"), IPProto: netcfg.ProtoUDP, Unknown: netcfg.FieldDPort}, 32766, ""},
		{"tun_id unknown, other NIC", netcfg.Packet{Dst: ip("198.51.100.1"), Src: ip("203.0.113.9"), IIF: "eno1", Unknown: netcfg.FieldTunID}, 32766, ""},
		{"flowlabel unknown", netcfg.Packet{Dst: ip("2001:db8:99::1"), Unknown: netcfg.FieldFlowLabel}, 0, "rule 104"},
		{"all known", netcfg.Packet{Dst: ip("198.51.100.1"), Unknown: all}, 32766, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustTrace(t, s, tc.pkt)
			if tc.rule == 0 {
				if p.Verdict != lookup.VerdictUndetermined || !strings.Contains(p.Reason, tc.und) || p.Rule == nil {
					t.Errorf("verdict %s (%s), want undetermined with %q", p.Verdict, p.Reason, tc.und)
				}
				return
			}
			if p.Rule == nil || p.Rule.Priority != tc.rule {
				t.Errorf("decided by %v (%s: %s), want rule %d", p.Rule, p.Verdict, p.Reason, tc.rule)
			}
		})
	}
	// l3mdev is not simulated: undetermined, not a guess.
	v := traceState(t, homeServer, "rule pref 50 l3mdev")
	if p := mustTrace(t, v, netcfg.Packet{Dst: ip("198.51.100.1")}); p.Verdict != lookup.VerdictUndetermined || !strings.Contains(p.Reason, "l3mdev") {
		t.Errorf("l3mdev: %s (%s), want undetermined", p.Verdict, p.Reason)
	}
}

// TestGuardUndeterminedIsDanger: the reproduction for the guard. A
// dscp 46 rule that blackholes sends SSH replies nowhere if sshd marks
// them EF; the guard cannot know the DS field sshd uses, so it must say
// undetermined, name the rule, and count it a danger. A tun_id rule does
// not touch packets this host sends, so it stays safe.
func TestGuardUndeterminedIsDanger(t *testing.T) {
	before := traceState(t, homeServer)
	after := traceState(t, homeServer, "rule pref 180 dscp 46 blackhole")
	conn, _ := sshsession.ParseConn("203.0.113.5 51234 192.168.10.2 22")
	g := lookup.GuardConn(before, after, conn)
	if g.Status != lookup.GuardUndetermined || !g.Dangerous() || !strings.Contains(ui.GuardMessage(&g), "rule 180") {
		t.Errorf("dscp rule: %s, dangerous %v: %s", g.Status, g.Dangerous(), ui.GuardMessage(&g))
	}
	tun := traceState(t, homeServer, "rule pref 2007 tun_id 5 blackhole")
	if g := lookup.GuardConn(before, tun, conn); g.Status != lookup.GuardSafe {
		t.Errorf("tun_id rule: %s: %s", g.Status, ui.GuardMessage(&g))
	}
}
