package netcfg_test

import (
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// TestPlanNeverReplacesOpaque: an owned route or rule that carries an
// attribute nictab does not model is never replaced (the replacement would
// drop it): the plan is a conflict naming the attribute.
func TestPlanNeverReplacesOpaque(t *testing.T) {
	liveRoute := mustRoute(t, "10.20.0.0/16 via 10.9.0.2 dev a0 table 13 proto 201 scope global")
	liveRoute.Unmodelled = []netcfg.RawAttr{{Type: 99, Name: "RTA_99", Data: []byte{1}}}
	wantRoute := mustRoute(t, "10.20.0.0/16 via 10.9.0.3 dev a0 table 13 proto 201 scope global")
	liveRule := mustRule(t, "pref 1000 from 10.9.0.1 lookup 13 proto 201")
	liveRule.Unmodelled = []netcfg.RawAttr{{Type: 31, Name: "FRA_31", Data: []byte{1}}}
	wantRule := mustRule(t, "pref 1000 from 10.9.0.1 lookup 14 proto 201")
	live := netcfg.State{Rules: []netcfg.Rule{liveRule}, Routes: []netcfg.Route{liveRoute}, Complete: []uint32{13, 14}, AllOwned: true}
	p := netcfg.PlanChanges(live, netcfg.Desired{Owned: netcfg.Owned{Rules: []netcfg.Rule{wantRule}, Routes: []netcfg.Route{wantRoute}}, Tables: []uint32{13, 14}})
	var texts []string
	for _, c := range p.Conflicts {
		texts = append(texts, c.Text)
	}
	all := strings.Join(texts, "\n")
	for _, w := range []string{"RTA_99", "FRA_31", "cannot reproduce"} {
		if !strings.Contains(all, w) {
			t.Errorf("conflicts lack %q:\n%s", w, all)
		}
	}
	for _, c := range p.Changes {
		if c.Action == netcfg.ChangeReplace {
			t.Errorf("the plan replaces %v", c.Before)
		}
	}
	// Without the unknown attribute the same change is a plain replace.
	liveRoute.Unmodelled, liveRule.Unmodelled = nil, nil
	live = netcfg.State{Rules: []netcfg.Rule{liveRule}, Routes: []netcfg.Route{liveRoute}, Complete: []uint32{13, 14}, AllOwned: true}
	p = netcfg.PlanChanges(live, netcfg.Desired{Owned: netcfg.Owned{Rules: []netcfg.Rule{wantRule}, Routes: []netcfg.Route{wantRoute}}, Tables: []uint32{13, 14}})
	if len(p.Conflicts) > 0 || len(p.Changes) != 2 {
		t.Errorf("plain plan: %d conflicts, %d changes; want 0 and 2", len(p.Conflicts), len(p.Changes))
	}
}

// TestFormatsNameEveryAttribute: show's text, the equivalent ip command and
// the comparison key carry each attribute in ip's words.
func TestFormatsNameEveryAttribute(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{"pref 180 from all dscp 46 lookup 180", "180:\tfrom all dscp 46 lookup 180"},
		{"pref 181 from all dscp 8/0x38 lookup 181", "181:\tfrom all dscp 8/0x38 lookup 181"},
		{"-6 pref 182 from all flowlabel 0x100/0xff00 lookup 182", "182:\tfrom all flowlabel 0x100/0xff00 lookup 182"},
		{"pref 184 from all ipproto 6 sport 4096/0xf000 dport 53 lookup 184", "184:\tfrom all ipproto 6 sport 4096/0xf000 dport 53 lookup 184"},
		{"pref 2007 from all tun_id 5 lookup 13", "2007:\tfrom all tun_id 5 lookup 13"},
		{"pref 186 from 10.0.0.0/8 lookup 186 realms 3/4", "186:\tfrom 10.0.0.0/8 lookup 186 realms 3/4"},
		{"pref 187 from all nat 0.0.0.0", "187:\tfrom all nat 0.0.0.0"},
	} {
		r := mustRule(t, tc.rule)
		if got := netcfg.RuleString(&r); got != tc.want {
			t.Errorf("RuleString(%s) = %q, want %q", tc.rule, got, tc.want)
		}
		back := mustRule(t, "pref "+strings.Replace(netcfg.RuleString(&r), ":\t", " ", 1)+map[bool]string{true: " -6"}[r.Family == netcfg.V6])
		if !netcfg.RuleEqual(&r, &back) {
			t.Errorf("%s does not parse back as itself: %s", tc.rule, netcfg.RuleString(&back))
		}
	}
	r := mustRoute(t, "10.21.0.0/16 via 10.9.0.2 dev a0 table 13 scope global mtu lock 1300 advmss 1360 congctl reno realms 2/5 nhid 7")
	cmd := netcfg.RouteCommand("add", &r)
	for _, w := range []string{"mtu lock 1300", "advmss 1360", "congctl reno", "realms 2/5", "nhid 7"} {
		if !strings.Contains(cmd, w) {
			t.Errorf("%s lacks %q", cmd, w)
		}
	}
	r6 := mustRoute(t, "2001:db8:50::/48 via 2001:db8:9::2 dev a0 table 13 metric 1024 from 2001:db8:9::/64 pref high")
	if got := netcfg.RouteString(&r6); !strings.Contains(got, "from 2001:db8:9::/64") || !strings.Contains(got, "pref high") {
		t.Errorf("RouteString = %q", got)
	}
	other := r6
	other.From = netcfg.Route{}.From
	if r6.Key() == other.Key() {
		t.Error("a source-specific route has the key of the route without a source")
	}
	r6.Expires = 300
	e := r6
	e.Expires = 299
	if !netcfg.RouteEqual(&r6, &e) {
		t.Error("two reads of one expiring route a second apart compare unequal")
	}
	r6.Unmodelled = []netcfg.RawAttr{{Type: 99, Name: "RTA_99", Data: []byte{7}}}
	if got := netcfg.RouteString(&r6); !strings.Contains(got, "RTA_99=07") {
		t.Errorf("RouteString = %q, want the unmodelled attribute's bytes", got)
	}
	if netcfg.RouteEqual(&r6, &e) {
		t.Error("an unmodelled attribute does not count in comparisons")
	}
}

// TestMetricsNilWhenNone: a route without metrics holds nil, never a
// pointer to zero Metrics, so that a million such routes carry 8 bytes
// each for them; and RouteIntentOf, which edits a copy of a route's
// metrics, leaves the route (and every copy sharing its metrics) alone.
func TestMetricsNilWhenNone(t *testing.T) {
	if r := mustRoute(t, "10.20.0.0/16 via 10.9.0.2 dev a0 table 13"); r.Metrics != nil {
		t.Errorf("ParseRoute without metrics: Metrics = %+v, want nil", *r.Metrics)
	}
	if m := (netcfg.Metrics{}).Ptr(); m != nil {
		t.Errorf("zero Metrics.Ptr() = %+v, want nil", *m)
	}
	r := mustRoute(t, "10.20.0.0/16 via 10.9.0.2 dev a0 table 13 mtu 1400 advmss 1360")
	if got := r.Metrics.Get(netcfg.RTAXMTU); got != 1400 {
		t.Fatalf("ParseRoute mtu 1400: Metrics.Get(mtu) = %d", got)
	}
	shared := r
	x, ok := netcfg.RouteIntentOf(&r)
	if !ok || x.MTU != 1400 || x.AdvMSS != 1360 {
		t.Errorf("RouteIntentOf = %+v, %v; want mtu 1400 advmss 1360", x, ok)
	}
	if r.Metrics.Get(netcfg.RTAXMTU) != 1400 || shared.Metrics.Get(netcfg.RTAXAdvMSS) != 1360 {
		t.Errorf("RouteIntentOf changed the route's metrics: %v", r.Metrics.Args())
	}
	if !netcfg.MetricsEqual(nil, (netcfg.Metrics{}).Ptr()) || netcfg.MetricsEqual(nil, r.Metrics) {
		t.Error("MetricsEqual does not compare by value")
	}
}
