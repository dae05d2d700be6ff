package ui

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"slices"
	"testing"

	"github.com/nictab/nictab/internal/sshsession"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
)

// topKeys are the keys of a JSON object, in order.
func topKeys(t *testing.T, v any) []string {
	t.Helper()
	doc, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	// Top-level keys come before the nested ones of the same name.
	at := func(k string) int { return bytes.Index(doc, []byte(`"`+k+`":`)) }
	slices.SortFunc(keys, func(x, y string) int { return at(x) - at(y) })
	return keys
}

// TestGuardJSONKeepsItsFields: the guard's JSON documents are the
// headless contract: the same keys, in the same order, with the wording
// filled in from the data.
func TestGuardJSONKeepsItsFields(t *testing.T) {
	rule := netcfg.NewRule()
	rule.Family, rule.Priority, rule.From, rule.Table = netcfg.V4, 1000, netip.MustParsePrefix("192.168.10.2/32"), 13
	g := &lookup.Guard{Conn: sshsession.Conn{Client: netip.MustParseAddrPort("203.0.113.5:51234")}, Status: lookup.GuardMoved,
		Before: lookup.Path{Verdict: lookup.VerdictRouted, Dev: "enp2s0"}, After: lookup.Path{Verdict: lookup.VerdictRouted, Dev: "eno1", Rule: &rule, Table: 13},
		CauseRule: &rule}
	doc := NewGuardJSON(g)
	if want := []string{"connection", "status", "before", "after", "cause", "cause_rule", "message"}; !slices.Equal(topKeys(t, doc), want) {
		t.Errorf("guard keys %v, want %v", topKeys(t, doc), want)
	}
	if doc.Cause != "rule 1000: from 192.168.10.2 lookup 13 now matches and refuses them (no rule matched before)" ||
		doc.Message != "this change moves the SSH session: replies to 203.0.113.5 would leave through eno1 instead of through enp2s0: "+doc.Cause {
		t.Errorf("cause %q\nmessage %q", doc.Cause, doc.Message)
	}
	f := &lookup.FlowGuard{Sockets: 3, Read: 2, Flows: 2, Traced: 2, Moved: []lookup.MovedFlow{{Why: lookup.PathCause{Kind: lookup.CauseRule, Rule: &rule}}},
		Shadowed: []lookup.ShadowedRule{{Rule: rule, By: rule}}}
	fd := NewFlowsJSON(f)
	if want := []string{"sockets", "read", "flows", "traced", "moved", "moved_sockets", "shadowed", "note"}; !slices.Equal(topKeys(t, fd), want) {
		t.Errorf("flows keys %v, want %v", topKeys(t, fd), want)
	}
	if want := []string{"ipproto", "local", "remote", "count", "before", "after", "cause"}; !slices.Equal(topKeys(t, fd.Moved[0]), want) {
		t.Errorf("moved keys %v, want %v", topKeys(t, fd.Moved[0]), want)
	}
	if want := []string{"rule", "by", "packet", "before", "after", "message"}; !slices.Equal(topKeys(t, fd.Shadowed[0]), want) {
		t.Errorf("shadowed keys %v, want %v", topKeys(t, fd.Shadowed[0]), want)
	}
	if fd.Note != "2 of 3 sockets were read" || fd.Moved[0].Cause != "rule 1000: from 192.168.10.2 lookup 13" {
		t.Errorf("note %q, cause %q", fd.Note, fd.Moved[0].Cause)
	}
	if b, _ := json.Marshal(NewFlowsJSON(&lookup.FlowGuard{})); !bytes.Contains(b, []byte(`"moved":null`)) {
		t.Errorf("a nil list is no longer null: %s", b)
	}
}
