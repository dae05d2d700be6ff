package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// jsonDoc runs a command with --json and decodes the one document it
// must print on stdout, whatever its exit status.
func (c *cli) jsonDoc(args ...string) (map[string]any, result) {
	c.t.Helper()
	r := c.run(args...)
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		c.t.Fatalf("%v: stdout is not one JSON document: %v\n%s", args, err, r)
	}
	if got := doc["exit_status"]; got != nil && int(got.(float64)) != r.code {
		c.t.Errorf("%v: exit_status %v, but the process exited %d", args, got, r.code)
	}
	return doc, r
}

// TestJSONApplyConfirm: apply --json --no-wait returns at once with the
// change live and pending; confirm with another id keeps nothing, with the
// apply's id keeps it, and again says it is kept already; the plan of the
// same file is then empty.
func TestJSONApplyConfirm(t *testing.T) {
	c := newCLI(t)
	f := writeFile(t, "blog.yaml", specFile)
	before := c.routing()

	doc, r := c.jsonDoc("apply", "-f", f, "--json", "--confirm", "5s", "--no-wait")
	if r.code != 2 || doc["result"] != "invalid" || !strings.Contains(doc["error"].(string), "--yes") {
		t.Fatalf("apply --json without --yes: %s", r)
	}
	if c.routing() != before {
		t.Fatal("a refused apply changed the namespace")
	}

	start := time.Now()
	doc, r = c.jsonDoc("apply", "-f", f, "--json", "--yes", "--confirm", "5s", "--no-wait", "-m", "scripted")
	if r.code != 0 || doc["result"] != "pending" || doc["command"] != "apply" || doc["netns"] != c.ns.Name {
		t.Fatalf("apply --no-wait: %s", r)
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("apply --no-wait took %s: it waited for the window", time.Since(start))
	}
	id, _ := doc["snapshot"].(string)
	deadline, err := time.Parse(time.RFC3339Nano, doc["deadline"].(string))
	if err != nil || deadline.Before(start) || deadline.After(start.Add(6*time.Second)) {
		t.Errorf("deadline %v (%v), apply started %v", doc["deadline"], err, start)
	}
	plan, _ := doc["plan"].(map[string]any)
	summary, _ := plan["summary"].(map[string]any)
	if summary["add"] != float64(14) || doc["steps"] != float64(12) {
		t.Errorf("plan summary %v, steps %v: want 14 additions in 12 kernel writes", summary, doc["steps"])
	}
	diff, _ := plan["diff"].(map[string]any)
	if !strings.Contains(diff["after"].(string), "  rule  1000: from 192.168.10.2 lookup 13 vpn\n") || strings.Contains(diff["before"].(string), "rule") {
		t.Errorf("plan diff: %v", diff)
	}
	mustContain(t, "ip rule inside the window", c.ns.IP("rule", "show"), "from 192.168.10.2 lookup vpn proto nictab")

	doc, r = c.jsonDoc("confirm", "--json", "261201-000000")
	if r.code != 1 || doc["result"] != "failed" || !strings.Contains(doc["error"].(string), "is "+id+", not 261201-000000") {
		t.Errorf("confirm of another id: %s", r)
	}
	doc, r = c.jsonDoc("confirm", "--json", id)
	if r.code != 0 || doc["result"] != "kept" || doc["snapshot"] != id || doc["detail"] != nil {
		t.Fatalf("confirm %s: %s", id, r)
	}
	doc, r = c.jsonDoc("confirm", "--json", id)
	if r.code != 0 || doc["result"] != "kept" || doc["detail"] != "kept already" {
		t.Errorf("confirm %s again: %s", id, r)
	}
	time.Sleep(time.Until(deadline.Add(500 * time.Millisecond)))
	mustContain(t, "ip rule past the deadline", c.ns.IP("rule", "show"), "from 192.168.10.2 lookup vpn proto nictab", "from 192.168.20.2 lookup lan proto nictab")

	doc, r = c.jsonDoc("apply", "-f", f, "--json", "--yes")
	if r.code != 0 || doc["result"] != "unchanged" {
		t.Errorf("apply of the applied file: %s", r)
	}
	doc, r = c.jsonDoc("plan", "-f", f, "--json", "--detailed-exitcode")
	if r.code != 0 || len(doc["changes"].([]any)) != 0 || len(doc["lines"].([]any)) != 0 {
		t.Errorf("plan after confirm: %s", r)
	}

	// A second change, kept at once, then a rollback to the first: the
	// rollback's document names its target.
	one := writeFile(t, "one.yaml", "version: 1\ntables: [{id: 13, name: vpn}]\nnics:\n  - {name: eno1, table: 13}\n")
	doc, r = c.jsonDoc("apply", "-f", one, "--json", "--yes")
	if r.code != 0 || doc["result"] != "applied" || doc["snapshot"] == id {
		t.Fatalf("apply without a window: %s", r)
	}
	if strings.Contains(c.ns.IP("rule", "show"), "lookup lan") {
		t.Fatalf("table 14's rule survived the second apply")
	}
	doc, r = c.jsonDoc("rollback", "--json", "--yes", id)
	if r.code != 0 || doc["command"] != "rollback" || doc["result"] != "applied" || doc["rollback_to"] != id {
		t.Errorf("rollback --json: %s", r)
	}
	mustContain(t, "ip rule after the rollback", c.ns.IP("rule", "show"), "from 192.168.10.2 lookup vpn proto nictab", "from 192.168.20.2 lookup lan proto nictab")
	doc, r = c.jsonDoc("recover", "--json")
	if r.code != 0 || doc["result"] != "nothing" {
		t.Errorf("recover --json: %s", r)
	}
}

// TestJSONReverted: without --no-wait, apply --json waits out its window
// and, unconfirmed, reports the revert with exit status 3; a confirm
// after it fails with a document that says what happened.
func TestJSONReverted(t *testing.T) {
	c := newCLI(t)
	f := writeFile(t, "blog.yaml", specFile)
	before := c.routing()
	doc, r := c.jsonDoc("apply", "-f", f, "--json", "--yes", "--confirm", "2s")
	if r.code != 3 || doc["result"] != "reverted" || doc["snapshot"] == nil || !strings.Contains(r.stderr, "nictab: reverted (") {
		t.Fatalf("unconfirmed apply --json: %s", r)
	}
	if got := c.routing(); got != before {
		t.Errorf("not as before after the revert:\n%s\nwant\n%s", got, before)
	}
	doc, r = c.jsonDoc("confirm", "--json", doc["snapshot"].(string))
	if r.code != 1 || !strings.Contains(doc["error"].(string), "was not kept") {
		t.Errorf("confirm after the revert: %s", r)
	}
	doc, r = c.jsonDoc("confirm", "--json")
	if r.code != 1 || !strings.Contains(doc["error"].(string), "the last change was reverted at") {
		t.Errorf("confirm after the revert: %s", r)
	}
	bad := writeFile(t, "bad.yaml", "version: 1\nnics:\n  - {name: eth9, table: 13}\n")
	doc, r = c.jsonDoc("plan", "-f", bad, "--json", "--detailed-exitcode")
	if r.code != 2 || doc["command"] != "plan" || doc["result"] != "invalid" || !strings.Contains(doc["error"].(string), bad+":3:") {
		t.Errorf("plan --json of a bad file: %s", r)
	}
	doc, r = c.jsonDoc("apply", "-f", bad, "--json", "--yes")
	if r.code != 2 || doc["result"] != "invalid" || !strings.Contains(doc["error"].(string), "eth9") {
		t.Errorf("apply --json of a bad file: %s", r)
	}
}
