package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nictab/nictab/ui"
)

// TestRollbackCLI: apply A, apply B, `rollback --steps 1`; the rules and
// routes equal A's, a hand-made route in an owned table survives, the
// history lists three snapshots, diff A B shows what changed, and a
// damaged file is named while the rest still works.
func TestRollbackCLI(t *testing.T) {
	c := newCLI(t)
	a := writeFile(t, "a.yaml", "version: 1\ncomment: A\ntables: [{id: 13, name: vpn}]\nnics: [{name: eno1, table: vpn}]\n")
	b := writeFile(t, "b.yaml", "version: 1\ncomment: B\ntables: [{id: 14, name: lan}]\nnics: [{name: eno1, table: 14}, {name: enp2s0, table: 14, gateway: 192.168.20.1}]\n")
	if r := c.run("apply", "-f", a, "--yes"); r.code != 0 {
		t.Fatal(r)
	}
	stateA := c.routing()
	c.ns.IP("route", "add", "10.99.0.0/16", "via", "192.168.10.254", "dev", "eno1", "table", "13")
	handIn13 := func() bool {
		return strings.Contains(c.ns.IP("route", "show", "table", "13"), "10.99.0.0/16 via 192.168.10.254 dev eno1")
	}
	hand := regexp.MustCompile(`10\.99\.0\.0/16 via 192\.168\.10\.254 dev eno1 table \S+ \n`)
	if r := c.run("apply", "-f", b, "--yes"); r.code == 0 {
		t.Fatalf("B puts two NICs' defaults in one table; it must be refused: %s", r)
	} else if r.code != 2 || !strings.Contains(r.stderr, "b.yaml:4:") {
		t.Fatalf("B refused wrongly: %s", r)
	}
	b = writeFile(t, "b.yaml", "version: 1\ncomment: B\ntables: [{id: 14, name: lan}]\nnics: [{name: eno1, table: 14}, {name: enp2s0, table: 15}]\n")
	if r := c.run("apply", "-f", b, "--yes"); r.code != 0 {
		t.Fatal(r)
	}
	if !handIn13() {
		t.Fatal("the hand-made route did not survive B")
	}
	r := c.run("rollback", "--steps", "1", "--yes")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, "rollback output", r.stdout, "Rolling back to", "~ rule  1000: from 192.168.10.2 lookup 14 lan  →  1000: from 192.168.10.2 lookup 13 vpn")
	if !handIn13() {
		t.Errorf("the hand-made route did not survive the rollback")
	}
	if got := hand.ReplaceAllString(c.routing(), ""); got != stateA {
		t.Errorf("after rollback:\n%s\nwant A:\n%s", got, stateA)
	}

	var rows []ui.HistoryRow
	r = c.run("snapshot", "list", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 4 {
		t.Fatalf("snapshot list: %v %s", err, r)
	}
	if rows[0].Kind != "rollback" || rows[1].Comment != "B" || rows[2].Comment != "A" || rows[3].Kind != "baseline" || !rows[0].Live {
		t.Errorf("history: %+v", rows)
	}
	r = c.run("snapshot", "diff", rows[2].ID, rows[1].ID)
	mustContain(t, "diff A B", r.stdout, "From "+rows[2].ID+" to "+rows[1].ID,
		"table 15", "+ rule  1010: from 192.168.20.2 lookup 15",
		"- route default via 192.168.10.1 dev eno1", "- name  13 vpn")
	if r := c.run("snapshot", "diff", rows[0].ID, "live"); !strings.Contains(r.stdout, "No differences") {
		t.Errorf("diff of the newest against live: %s", r)
	}
	if r := c.run("snapshot", "show", rows[2].ID[:len(rows[2].ID)-2]); r.code != 0 && !strings.Contains(r.stderr, "matches") {
		t.Errorf("show by prefix: %s", r)
	}
	if r := c.run("snapshot", "show", "999999"); r.code != 2 || !strings.Contains(r.stderr, "no such snapshot") {
		t.Errorf("show of an unknown id: %s", r)
	}

	// Damage B: it is named, the others still list and roll back.
	path := filepath.Join(c.stateDir(), "snapshots", rows[1].ID+".yaml")
	if err := os.WriteFile(path, []byte("version: 1\ngarbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = c.run("snapshot", "list")
	mustContain(t, "list with a damaged file", r.stdout, "DAMAGED", rows[1].ID, "A —", "rollback")
	if r := c.run("rollback", rows[1].ID, "--yes"); r.code != 2 || !strings.Contains(r.stderr, "damaged") {
		t.Errorf("rollback to the damaged one: %s", r)
	}
	if r := c.run("rollback", rows[2].ID, "--yes"); r.code != 0 || !strings.Contains(r.stdout, "No changes") {
		t.Errorf("rollback to A (live already): %s", r)
	}
}

// TestAdoptCLI: rules and routes made by hand are taken over only when
// asked, without changing where packets go; after that a plan may remove
// them.
func TestAdoptCLI(t *testing.T) {
	c := newCLI(t)
	c.ns.IP("rule", "add", "from", "192.168.10.2", "lookup", "13", "pref", "900")
	c.ns.IP("route", "add", "default", "via", "192.168.10.1", "dev", "eno1", "table", "13")
	before := c.routing()
	empty := writeFile(t, "empty.yaml", "version: 1\n")
	if r := c.run("apply", "-f", empty, "--yes"); r.code != 0 || c.routing() != before {
		t.Fatalf("an empty file touched hand-made rules: %s", r)
	}
	r := c.run("snapshot", "save", "--adopt", "--yes", "-m", "old script")
	if r.code != 0 {
		t.Fatal(r)
	}
	mustContain(t, "adopt", r.stdout, "~ rule  900: from 192.168.10.2 lookup 13")
	after := c.routing()
	if strings.ReplaceAll(after, " proto nictab", "") != before {
		t.Errorf("adoption changed more than the protocol:\n%s\nwas:\n%s", after, before)
	}
	mustContain(t, "rules after adoption", c.ns.IP("rule", "show"), "900:\tfrom 192.168.10.2 lookup 13 proto nictab")
	r = c.run("snapshot", "list")
	mustContain(t, "list", r.stdout, "adopt", "old script")
	// Owned now: an empty file removes them.
	if r := c.run("apply", "-f", empty, "--yes"); r.code != 0 {
		t.Fatal(r)
	}
	if strings.Contains(c.ns.IP("rule", "show"), "900:") {
		t.Error("an adopted rule was not managed")
	}
}
