package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/nictab/nictab/netcfg"
)

func TestCheckTableID(t *testing.T) {
	known := []tableChoice{{ID: 100, Name: "wg"}, {ID: 7}}
	for _, c := range []struct {
		in      string
		id      uint32
		problem string
	}{
		{"13", 13, ""},
		{" 0x20 ", 32, ""},
		{"4294967295", 4294967295, ""},
		{"", 0, "type a table id"},
		{"vpn", 0, "is not a number"},
		{"-1", 0, "is not a number"},
		{"0", 0, "means no table"},
		{"253", 0, "kernel's default table"},
		{"254", 0, "kernel's main table"},
		{"255", 0, "kernel's local table"},
		{"4294967296", 0, "go up to 4294967295"},
		{"100", 0, "in use as wg"},
		{"7", 0, "table 7 is in use: pick it"},
	} {
		id, problem := checkTableID(c.in, known)
		if id != c.id || (c.problem == "") != (problem == "") || !strings.Contains(problem, c.problem) {
			t.Errorf("checkTableID(%q) = %d, %q; want %d, %q", c.in, id, problem, c.id, c.problem)
		}
	}
}

func TestCheckTableName(t *testing.T) {
	names := &netcfg.Names{Tables: []netcfg.TableName{{ID: 100, Name: "wg"}}}
	known := []tableChoice{{ID: 14, Name: "lan"}}
	for _, c := range []struct {
		name    string
		id      uint32
		problem string
	}{
		{"vpn", 13, ""},
		{"", 13, ""},
		{"wg", 100, ""},
		{"wg", 13, `"wg" already names table 100`},
		{"lan", 13, `"lan" already names table 14`},
		{"main", 13, "already names table 254"},
		{"13", 13, "not only digits"},
		{"a b", 13, "letters, digits"},
		{"x#", 13, "letters, digits"},
	} {
		problem := checkTableName(c.name, c.id, names, known)
		if (c.problem == "") != (problem == "") || !strings.Contains(problem, c.problem) {
			t.Errorf("checkTableName(%q, %d) = %q; want %q", c.name, c.id, problem, c.problem)
		}
	}
}

func TestCheckGateway(t *testing.T) {
	l := &sandboxState().Links[1]
	for _, c := range []struct {
		in      string
		fam     netcfg.Family
		want    string
		problem string
	}{
		{"", netcfg.V4, "", ""},
		{"192.168.10.1", netcfg.V4, "192.168.10.1", ""},
		{"::ffff:192.168.10.1", netcfg.V4, "192.168.10.1", ""},
		{"2001:db8:10::1", netcfg.V6, "2001:db8:10::1", ""},
		{"fe80::1", netcfg.V6, "fe80::1", ""},
		{"192.168.11.1", netcfg.V4, "", "outside 192.168.10.0/24"},
		{"2001:db8:11::1", netcfg.V6, "", "outside 2001:db8:10::/64"},
		{"2001:db8:10::1", netcfg.V4, "", "is not an IPv4 address"},
		{"gateway", netcfg.V4, "", "is not an IPv4 address"},
	} {
		a, problem := checkGateway(c.in, c.fam, l)
		got := ""
		if a.IsValid() {
			got = a.String()
		}
		if got != c.want || (c.problem == "") != (problem == "") || !strings.Contains(problem, c.problem) {
			t.Errorf("checkGateway(%q) = %q, %q; want %q, %q", c.in, got, problem, c.want, c.problem)
		}
	}
}

func TestCheckFwmark(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    *netcfg.FwMark
		problem string
	}{
		{"0x13", &netcfg.FwMark{Value: 0x13, Mask: 0xffffffff}, ""},
		{"19/0xff", &netcfg.FwMark{Value: 19, Mask: 0xff}, ""},
		{"", nil, "type the fwmark"},
		{"0x1ffffffff", nil, "not a 32-bit number"},
		{"1/x", nil, "mask"},
	} {
		m, problem := checkFwmark(c.in)
		if (c.want == nil) != (m == nil) || (m != nil && *m != *c.want) || !strings.Contains(problem, c.problem) || (c.problem == "") != (problem == "") {
			t.Errorf("checkFwmark(%q) = %v, %q", c.in, m, problem)
		}
		if m != nil && fwmarkText(m) != strings.TrimSpace(map[bool]string{true: "0x13", false: "0x13/0xff"}[m.Mask == 0xffffffff]) {
			t.Errorf("fwmarkText(%v) = %q", m, fwmarkText(m))
		}
	}
}

func TestApplyEdits(t *testing.T) {
	base := netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 14, Name: "lan"}},
		NICs: []netcfg.NICIntent{
			{Name: "enp2s0", Table: netcfg.TableRef{ID: 14}, Priority: 1500},
			{Name: "wg0", Table: netcfg.TableRef{ID: 51}},
		},
	}
	var e edits
	e = e.with("eno1", edit{nic: netcfg.NICIntent{Name: "eno1", Table: netcfg.TableRef{ID: 13}}, newTable: &netcfg.TableDef{ID: 13, Name: "vpn"}})
	e = e.with("enp2s0", edit{nic: netcfg.NICIntent{Name: "enp2s0", Table: netcfg.TableRef{ID: 13}}})
	e2 := e.with("wg0", edit{unassign: true})
	got := applyEdits(base, e2)
	want := netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14, Name: "lan"}},
		NICs: []netcfg.NICIntent{
			{Name: "eno1", Table: netcfg.TableRef{ID: 13}},
			// The hand-set priority survives the edit.
			{Name: "enp2s0", Table: netcfg.TableRef{ID: 13}, Priority: 1500},
		},
	}
	if !intentEqual(got, want) {
		t.Fatalf("applyEdits = %+v\nwant %+v", got, want)
	}
	if e.len() != 2 || e2.len() != 3 {
		t.Fatalf("with changed its receiver: %d, %d edits", e.len(), e2.len())
	}
	if got := applyEdits(base, e2.without("eno1").without("enp2s0").without("wg0")); !intentEqual(got, base) {
		t.Fatalf("no edits should give the base back, got %+v", got)
	}
}

func TestKnownTables(t *testing.T) {
	s := sandboxState()
	v := BuildShow(s, "")
	var e edits
	e = e.with("eno1", edit{nic: netcfg.NICIntent{Name: "eno1", Table: netcfg.TableRef{ID: 13}}, newTable: &netcfg.TableDef{ID: 13, Name: "vpn"}})
	got := knownTables(v, &s.Names, netcfg.Intent{Tables: []netcfg.TableDef{{ID: 14, Name: "lan"}}}, e)
	var labels []string
	for _, c := range got {
		labels = append(labels, c.label()+" ["+c.Note+"]")
	}
	want := "13 vpn [new] | 14 lan [] | 100 wg [1 rule · 1 route]"
	if strings.Join(labels, " | ") != want {
		t.Fatalf("knownTables = %s\nwant %s", strings.Join(labels, " | "), want)
	}
}

func TestLayoutNICs(t *testing.T) {
	for _, c := range []struct {
		need   [paneCount]int
		height int
		want   [paneCount]int
	}{
		// Everything fits: each pane gets what it needs.
		{[paneCount]int{4, 3, 5}, 22, [paneCount]int{4, 3, 5}},
		// Too many rules: they give way first, down to the others' size.
		{[paneCount]int{4, 5, 9}, 22, [paneCount]int{4, 5, 5}},
		{[paneCount]int{4, 5, 10000}, 22, [paneCount]int{4, 5, 5}},
		{[paneCount]int{4, 5, 10000}, 38, [paneCount]int{4, 5, 21}},
		// A tiny terminal still shows a row of each.
		{[paneCount]int{4, 5, 10000}, 5, [paneCount]int{1, 1, 1}},
	} {
		if got := layoutNICs(c.need, c.height).rows; got != c.want {
			t.Errorf("layoutNICs(%v, %d) = %v, want %v", c.need, c.height, got, c.want)
		}
	}
}

func TestWindow(t *testing.T) {
	for _, c := range []struct{ cursor, offset, n, visible, want int }{
		{0, 0, 10, 5, 0},
		{4, 0, 10, 5, 0},
		{5, 0, 10, 5, 1},
		{9, 1, 10, 5, 5},
		{2, 5, 10, 5, 2},
		{3, 0, 3, 5, 0},
		{7, 9, 10, 5, 5},
	} {
		if got := window(c.cursor, c.offset, c.n, c.visible); got != c.want {
			t.Errorf("window(%d, %d, %d, %d) = %d, want %d", c.cursor, c.offset, c.n, c.visible, got, c.want)
		}
	}
}

func TestWrapCommand(t *testing.T) {
	cmd := "ip route add 192.168.10.0/24 dev eno1 table 13 proto 201 scope link src 192.168.10.2"
	lines := wrapCommand(cmd, 40)
	for i, l := range lines {
		if len(l) > 40 {
			t.Errorf("line %d is %d long: %q", i, len(l), l)
		}
		if i < len(lines)-1 && !strings.HasSuffix(l, " \\") {
			t.Errorf("line %d does not continue with a backslash: %q", i, l)
		}
	}
	joined := strings.Join(lines, "\n")
	joined = strings.ReplaceAll(joined, " \\\n    ", " ")
	if joined != cmd {
		t.Fatalf("the wrapped command reads back as %q", joined)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain\ntext":             "plain\ntext",
		`keep \n and "\${x}"`:     `keep \n and "\${x}"`,
		"a\tb":                    "a    b",
		"\x1b[2Jclear":            `\x1b[2Jclear`,
		"bell\x07":                `bell\x07`,
		"c1\u009b31m":             `c1\u009b31m`,
		"bad\xffutf8":             `bad\xffutf8`,
		"ünïcödé ok, · and → too": "ünïcödé ok, · and → too",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRemaining(t *testing.T) {
	d := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)
	for _, c := range []struct {
		before time.Duration
		want   int
	}{{60 * time.Second, 60}, {59*time.Second + time.Millisecond, 60}, {59 * time.Second, 59}, {time.Millisecond, 1}, {0, 0}, {-time.Second, 0}} {
		if got := remaining(d, d.Add(-c.before)); got != c.want {
			t.Errorf("remaining %v before = %d, want %d", c.before, got, c.want)
		}
	}
}

func TestFailedResult(t *testing.T) {
	r := failedResult(&netcfg.ApplyError{Step: 2, Total: 5, Err: errString("File exists"), UndoErr: errString("No such process")})
	if !strings.Contains(r.title, "ALSO failed") || !strings.Contains(strings.Join(r.lines, " "), "nictab recover") {
		t.Errorf("a failed undo must say so and point to recover: %+v", r)
	}
	r = failedResult(&netcfg.StaleError{What: []string{"x"}})
	if !strings.Contains(r.title, "stale") {
		t.Errorf("stale: %+v", r)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestHintsCarryGlobalFlags: a command the TUI suggests acts where the TUI
// does. Pasted without --netns and --state-dir, `nictab recover` would act
// on the host's own routing and history.
func TestHintsCarryGlobalFlags(t *testing.T) {
	caps := Capabilities{Netns: "lab", CLIArgs: " --netns lab --state-dir /srv/n"}
	a := applyScreen{phase: phaseDone, result: applyResult{kind: resultFailed, title: "Revert failed",
		lines: []string{"Run `nictab recover` to bring the host back to the state before the change."}}}
	got := ansi.Strip(renderApply(a, caps, 120, 24, DefaultStyles(true)))
	if want := "`nictab --netns lab --state-dir /srv/n recover`"; !strings.Contains(got, want) {
		t.Errorf("the result says\n%s\nwant it to name %s", got, want)
	}
	if got := (Capabilities{}).Hint("run `nictab recover`"); got != "run `nictab recover`" {
		t.Errorf("without global flags the hint became %q", got)
	}
}

// TestApplyEditsRulesRoutesTables: rule, route and table edits fold over
// the base in order; a deleted table takes what is in it, a renamed one is
// named by id where its old name was used, and an edit of an entry that
// is gone becomes an addition.
func TestApplyEditsRulesRoutesTables(t *testing.T) {
	rule := netcfg.RuleIntent{Priority: 1100, From: pfx("10.30.0.0/16"), Table: netcfg.TableRef{Name: "vpn"}}
	route := netcfg.RouteIntent{Table: netcfg.TableRef{ID: 13}, To: pfx("10.20.0.0/16"), Via: addr("192.168.10.1")}
	base := netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14, Name: "lan"}},
		NICs:   []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{Name: "vpn"}}, {Name: "enp2s0", Table: netcfg.TableRef{ID: 14}}},
		Rules:  []netcfg.RuleIntent{rule},
		Routes: []netcfg.RouteIntent{route},
	}
	var e edits
	moved := rule
	moved.Priority = 1200
	e = e.push(op{kind: opRule, ruleBefore: &rule, ruleAfter: &moved})
	e = e.push(op{kind: opTable, tableBefore: &netcfg.TableDef{ID: 13, Name: "vpn"}, tableAfter: &netcfg.TableDef{ID: 13, Name: "tunnel"}})
	got := applyEdits(base, e)
	if got.Rules[0].Priority != 1200 || got.Rules[0].Table != (netcfg.TableRef{ID: 13}) || got.NICs[0].Table != (netcfg.TableRef{ID: 13}) || got.Tables[0].Name != "tunnel" {
		t.Fatalf("after edit and rename: %+v", got)
	}
	del := e.push(op{kind: opTable, tableBefore: &netcfg.TableDef{ID: 13, Name: "tunnel"}})
	got = applyEdits(base, del)
	if len(got.Rules) != 0 || len(got.Routes) != 0 || len(got.NICs) != 1 || got.NICs[0].Name != "enp2s0" || len(got.Tables) != 1 {
		t.Fatalf("after deleting table 13: %+v", got)
	}
	// An edit of a route the base no longer holds adds it; a deletion of
	// one does nothing.
	other := route
	other.Metric = 5
	gone := netcfg.RouteIntent{Table: netcfg.TableRef{ID: 14}, To: pfx("10.99.0.0/16"), Dev: "enp2s0"}
	e2 := edits{}.push(op{kind: opRoute, routeBefore: &gone, routeAfter: &other}).push(op{kind: opRoute, routeBefore: &gone})
	if got := applyEdits(base, e2); len(got.Routes) != 2 || got.Routes[1].Metric != 5 {
		t.Fatalf("edit of a gone route: %+v", got.Routes)
	}
	e3, last, ok := e2.undo()
	if !ok || last.routeAfter != nil || e3.len() != 1 || e2.len() != 2 {
		t.Fatalf("undo took %+v, left %d (receiver %d)", last, e3.len(), e2.len())
	}
}
