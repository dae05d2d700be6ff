package ui

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/nictab/nictab/netcfg"
)

// TestFlowAssignApplyKeep is the whole path of issue 5: eno1 to a new
// table 13 named vpn, previewed, applied, kept.
func TestFlowAssignApplyKeep(t *testing.T) {
	f := newFake()
	tm := run(t, f, 80, 24, false, with(previewEno1, []step{keys("a"), wait("applied to"), keys("y"), wait("Kept")})...)
	m := finish(t, tm)
	if len(f.applied) != 1 || f.confirmed != 1 || f.reverted != 0 {
		t.Fatalf("applied %d, confirmed %d, reverted %d; want 1, 1, 0", len(f.applied), f.confirmed, f.reverted)
	}
	want := netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}},
		NICs:   []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}},
	}
	if got := f.applied[0]; !intentEqual(got, want) {
		t.Fatalf("applied intent %+v, want %+v", got, want)
	}
	if m.edits.len() != 0 {
		t.Errorf("edits left after the change was kept: %d", m.edits.len())
	}
	if m.apply.result.kind != resultKept {
		t.Errorf("result %q, want kept", m.apply.result.title)
	}
	if !strings.Contains(plain(m.frame()), "Saved as snapshot 261124-184100") {
		t.Errorf("the result does not name the snapshot:\n%s", plain(m.frame()))
	}
}

func intentEqual(a, b netcfg.Intent) bool {
	if !slices.Equal(a.Tables, b.Tables) || len(a.NICs) != len(b.NICs) {
		return false
	}
	for i := range a.NICs {
		x, y := a.NICs[i], b.NICs[i]
		if x.Name != y.Name || x.Table != y.Table || !slices.Equal(x.Gateways, y.Gateways) || !slices.Equal(x.Select, y.Select) || x.Priority != y.Priority {
			return false
		}
	}
	return true
}

// TestFlowSilenceReverts: the countdown reaches zero and the change is
// reverted without a key.
func TestFlowSilenceReverts(t *testing.T) {
	f := newFake()
	f.deadline = 1500 * time.Millisecond
	m := finish(t, run(t, f, 80, 24, false, with(previewEno1, []step{keys("a"), wait("Reverting in 2s"), wait("Reverting in 1s"), wait("not confirmed in time")})...))
	if f.reverted != 1 || f.confirmed != 0 {
		t.Fatalf("reverted %d, confirmed %d", f.reverted, f.confirmed)
	}
	if m.apply.result.kind != resultReverted {
		t.Fatalf("result %q, want reverted", m.apply.result.title)
	}
}

// TestFlowPendingAtStart: a change from an earlier session that still
// waits for confirmation opens the confirm dialog at once.
func TestFlowPendingAtStart(t *testing.T) {
	f := newFake()
	f.pending = &Pending{Deadline: time.Now().Add(30 * time.Second)}
	f.applied = []netcfg.Intent{{}}
	finish(t, run(t, f, 80, 24, false, wait("Keep these changes? Reverting in 30s"), keys("y"), wait("Kept")))
	if f.confirmed != 1 {
		t.Fatalf("confirmed %d, want 1", f.confirmed)
	}
}

// TestFlowQuitAsksWithEdits: q with an unapplied edit asks; n stays, y
// quits. Without edits q quits at once.
func TestFlowQuitAsksWithEdits(t *testing.T) {
	f := newFake()
	tm := run(t, f, 80, 24, false, with(assignEno1, []step{keys("q"), wait("Quit and drop 1 unapplied edit?"), keys("n"), wait("assign")})...)
	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	waitFrame(t, tm, "Quit and drop")
	tm.Send(tea.KeyPressMsg{Code: 'y', Text: "y"})
	tm.WaitFinished(t, teatest.WithFinalTimeout(3*time.Second))

	f = newFake()
	tm = run(t, f, 80, 24, false, wait("enp2s0"), keys("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(3*time.Second))
}

// TestFlowTypingIsNotAKey: in a text field q, ? and j are letters.
func TestFlowTypingIsNotAKey(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, wait("enp2s0"), keys("a"), wait("new table"), keys("1"), press(tea.KeyTab), keys("q?jk"), wait("q?jk")))
	if m.screen != screenAssign || m.assign.inputs[fieldName].Value() != "q?jk" {
		t.Fatalf("screen %v, name %q", m.screen, m.assign.inputs[fieldName].Value())
	}
}

// TestFlowUnassign: d on a NIC nictab manages plans its removal.
func TestFlowUnassign(t *testing.T) {
	f := newFake()
	f.base = netcfg.Intent{Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}}, NICs: []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}}}
	p, err := f.Propose(f.base, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.state = withTarget(f.state, p.Plan.Target)
	m := finish(t, run(t, f, 80, 24, false, wait("13 vpn (nictab)"), keys("d"), wait("back to main"), keys("p"), wait("to delete")))
	add, del, _ := m.preview.proposal.Plan.Counts()
	if add != 0 || del != 6 {
		t.Fatalf("unassign plans %d adds and %d deletes, want 0 and 6", add, del)
	}
}

// TestFlowLiveChange: a NIC going down elsewhere shows within the UI
// without a key.
func TestFlowLiveChange(t *testing.T) {
	f := newFake()
	tm := run(t, f, 80, 24, false, wait("enp2s0"), do(func() {
		f.change(func(s *netcfg.State) { s.Links[2].Carrier = false })
	}), wait("no carrier"))
	m := finish(t, tm)
	if !strings.Contains(plain(m.frame()), "no carrier") {
		t.Fatal("the NIC's new state is not shown")
	}
}

// TestFlowRollback: R on a snapshot previews the way back and applies it
// with the same confirm window.
func TestFlowRollback(t *testing.T) {
	f := newFake()
	f.base = netcfg.Intent{Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}}, NICs: []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}}}
	p, _ := f.Propose(f.base, nil)
	f.state = withTarget(f.state, p.Plan.Target)
	m := finish(t, run(t, f, 80, 24, false, wait("enp2s0"), keys("s"), wait("History"), keys("R"), wait("to delete"), keys("a"), wait("applied to"), keys("y"), wait("Kept")))
	if f.confirmed != 1 || m.preview.rollback != "261124-184000" {
		t.Fatalf("confirmed %d, rollback %q", f.confirmed, m.preview.rollback)
	}
}

// TestFlowDamagedSnapshot: a damaged file is listed and refused, not used.
func TestFlowDamagedSnapshot(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, wait("enp2s0"), keys("s"), wait("History"), keys("j"), keys("R"), wait("is damaged and cannot be used")))
	if m.screen != screenSnapshots {
		t.Fatalf("screen %v, want snapshots", m.screen)
	}
}

// TestFlowExportWrite: the export is written where the person says.
func TestFlowExportWrite(t *testing.T) {
	f := newFake()
	finish(t, run(t, f, 80, 24, false, wait("enp2s0"), keys("s"), wait("History"), keys("e"), wait("routeTables"),
		keys("w"), wait("write to"), ctrl('u'), keys("/etc/nixos/nictab.nix"), press(tea.KeyEnter), wait("wrote")))
	got, ok := f.written["/etc/nixos/nictab.nix"]
	if !ok || !strings.Contains(string(got), "routeTables = { vpn = 13; }") {
		t.Fatalf("written %v", f.written)
	}
}

// TestFlowReadOnly: without CAP_NET_ADMIN assign and preview say why and
// do nothing.
func TestFlowReadOnly(t *testing.T) {
	f := newFake()
	f.caps.ReadOnly, f.caps.Reason = true, "no CAP_NET_ADMIN"
	m := finish(t, run(t, f, 80, 24, false, wait("enp2s0"), keys("a"), wait("nothing changed: no CAP_NET_ADMIN"), keys("j"), keys("p")))
	if !strings.Contains(m.flash, "nothing changed") {
		t.Errorf("p said %q", m.flash)
	}
	if m.screen != screenNICs || m.edits.len() != 0 {
		t.Fatalf("screen %v with %d edits, want NICs and none", m.screen, m.edits.len())
	}
}

// TestFlowHostileAlias: an alias or name holding escape sequences shows
// escaped; the frame holds no escape the kernel sent.
func TestFlowHostileAlias(t *testing.T) {
	f := newFake()
	f.state.Links[1].Name = "eno1\x1b[2J"
	f.state.Links[1].Alias = "\x1b]0;pwned\x07\x1b[31mred"
	m := finish(t, run(t, f, 120, 40, false, wait("enp2s0"), keys("a"), wait(`\x1b]0;pwned`)))
	v := m.frame()
	checkFrame(t, v, 120, 40)
	if !strings.Contains(v, `eno1\x1b[2J`) {
		t.Fatalf("the name is not shown escaped:\n%s", plain(v))
	}
}

// TestFlowResize: the frame follows the terminal's size.
func TestFlowResize(t *testing.T) {
	f := newFake()
	tm := run(t, f, 80, 24, true, wait("enp2s0"))
	for _, s := range [][2]int{{120, 40}, {80, 24}, {100, 30}, {60, 15}} {
		tm.Send(tea.WindowSizeMsg{Width: s[0], Height: s[1]})
	}
	m := finish(t, tm)
	checkFrame(t, m.frame(), 60, 15)
}

// TestFlowGatewayTyped: a typed gateway is checked and carried into the
// intent.
func TestFlowGatewayTyped(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, wait("enp2s0"), keys("a"), wait("new table"), keys("13"), press(tea.KeyTab), press(tea.KeyTab),
		keys("192.168.99.1"), wait("is outside 192.168.10.0/24"), ctrl('u'), keys("192.168.10.254"), press(tea.KeyEnter), wait("unapplied edit")))
	ed, ok := m.edits.get("eno1")
	if !ok || !slices.Equal(ed.nic.Gateways, []netip.Addr{addr("192.168.10.254")}) {
		t.Fatalf("edit %+v", ed)
	}
}

// TestFlowKeysInOnePacket: keystrokes that arrive together (fast typing
// over SSH) act one by one.
func TestFlowKeysInOnePacket(t *testing.T) {
	f := newFake()
	chunk := func(s string) step { return step{keys: []tea.KeyPressMsg{{Text: s}}} }
	m := finish(t, run(t, f, 80, 24, false, wait("enp2s0"), chunk("a13"), press(tea.KeyTab), chunk("vpn"), press(tea.KeyEnter), chunk("p"), wait("+7 to add")))
	if m.screen != screenPreview || len(m.preview.intent.Tables) != 1 || m.preview.intent.Tables[0] != (netcfg.TableDef{ID: 13, Name: "vpn"}) {
		t.Fatalf("screen %v, intent %+v", m.screen, m.preview.intent)
	}
}

// TestFlowHostileNameInPlan: a NIC name with an escape sequence, carried
// into a rule's iif, shows escaped in the plan too.
func TestFlowHostileNameInPlan(t *testing.T) {
	f := newFake()
	f.state.Links[1].Name = "e\x1b[2J"
	for i := range f.state.Routes {
		if f.state.Routes[i].Dev == "eno1" {
			f.state.Routes[i].Dev = "e\x1b[2J"
		}
	}
	m := finish(t, run(t, f, 120, 40, true, wait("enp2s0"), keys("a"), wait("new table"), keys("13"), press(tea.KeyTab), press(tea.KeyTab),
		press(tea.KeyTab), press(tea.KeyTab), press(tea.KeyRight), press(tea.KeyRight), keys(" "), press(tea.KeyEnter), wait("unapplied edit"), keys("p"), wait("to add")))
	v := m.frame()
	checkFrame(t, v, 120, 40)
	if !strings.Contains(plain(v), `iif e\x1b[2J lookup 13`) {
		t.Fatalf("the iif rule is not shown escaped:\n%s", plain(v))
	}
}

// TestFlowExportScrolls: an export longer than the screen scrolls.
func TestFlowExportScrolls(t *testing.T) {
	f := newFake()
	m := finish(t, run(t, f, 80, 24, false, wait("enp2s0"), keys("s"), wait("History"), keys("e"), wait("routeTables"), keys("jjj"), press(tea.KeyPgDown)))
	if want := 3 + m.export.vp.Height(); m.export.vp.YOffset() != want {
		t.Fatalf("after 3 lines and a page down the export is at line %d, want %d", m.export.vp.YOffset(), want)
	}
}

// TestKeptResultOfResumedChange: a change confirmed from a later session
// says it stays, not that nothing was applied.
func TestKeptResultOfResumedChange(t *testing.T) {
	r := keptResult(nil, &Outcome{Deadline: time.Now()}, false)
	if len(r.lines) != 1 || !strings.Contains(r.lines[0], "stays") {
		t.Fatalf("%+v", r)
	}
	// The count is the plan's, as the preview and the dialog gave it, not
	// the kernel operations it took.
	p := &Proposal{Plan: netcfg.Plan{Changes: make([]netcfg.Change, 14)}}
	r = keptResult(p, &Outcome{Steps: 12, SnapshotID: "x", Notes: []string{"names were not written"}}, false)
	if got := strings.Join(r.lines, "|"); got != "14 changes applied and verified against the kernel.|Saved as snapshot x (s shows the history).|Note: names were not written" {
		t.Fatalf("%q", got)
	}
}

// TestFlowRecoversFirst: an apply a crash interrupted is finished or
// undone before the state is shown, and the person is told.
func TestFlowRecoversFirst(t *testing.T) {
	f := newFake()
	f.recovered = "an apply cut short at step 3 of 6 was undone"
	m := finish(t, run(t, f, 80, 24, false, wait("recovered: an apply cut short"), do(func() { time.Sleep(300 * time.Millisecond) })))
	if m.load != ready || !strings.Contains(plain(m.frame()), "enp2s0") {
		t.Fatalf("the namespace was not read after the recovery:\n%s", plain(m.frame()))
	}
	if f.calls[0] != "recover" || !slices.Contains(f.calls, "detect") {
		t.Fatalf("calls %v: recover must come before anything is read", f.calls)
	}
}

// TestFlowPreviewWaitsForTheIntent: an edit and a preview typed before
// the newest snapshot's intent is read are made from it once it is, not
// from none (which would plan the removal of what nictab manages beside
// the edit).
func TestFlowPreviewWaitsForTheIntent(t *testing.T) {
	f := newFake()
	f.base = netcfg.Intent{Tables: []netcfg.TableDef{{ID: 14, Name: "lan"}}, NICs: []netcfg.NICIntent{{Name: "enp2s0", Table: netcfg.TableRef{ID: 14}}}}
	f.intentGate = make(chan struct{})
	// Typed before the intent is read, the keys wait for it.
	steps := []step{wait("enp2s0"), keys("a13"), press(tea.KeyTab), keys("vpn"), press(tea.KeyEnter), keys("p"), do(func() { close(f.intentGate) }),
		wait("to add"), keys("a"), wait("applied to"), keys("y"), wait("Kept")}
	finish(t, run(t, f, 80, 24, false, steps...))
	if len(f.applied) != 1 {
		t.Fatalf("applied %d changes, want 1", len(f.applied))
	}
	want := netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14, Name: "lan"}},
		NICs:   []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}, {Name: "enp2s0", Table: netcfg.TableRef{ID: 14}}},
	}
	got := f.applied[0]
	slices.SortFunc(got.Tables, func(a, b netcfg.TableDef) int { return int(a.ID) - int(b.ID) })
	slices.SortFunc(got.NICs, func(a, b netcfg.NICIntent) int { return strings.Compare(a.Name, b.Name) })
	if !intentEqual(got, want) {
		t.Fatalf("applied intent %+v, want %+v: the preview planned from no intent", got, want)
	}
}
