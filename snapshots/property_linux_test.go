package snapshots_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
	"github.com/nictab/nictab/snapshots"
)

// ownedObjects is the complement of foreignObjects: nictab's rules and
// routes as `ip -d -j` prints them, sorted.
func ownedObjects(t testing.TB, ns *nstest.NS) []string {
	t.Helper()
	var out []string
	for _, args := range [][]string{
		{"-4", "-d", "rule", "show"}, {"-6", "-d", "rule", "show"},
		{"-4", "-d", "route", "show", "table", "all"}, {"-6", "-d", "route", "show", "table", "all"},
	} {
		var objs []map[string]any
		ns.JSON(&objs, args...)
		for _, o := range objs {
			if p, _ := o["protocol"].(string); p == "nictab" || p == "201" {
				b, _ := json.Marshal(o)
				out = append(out, args[0]+" "+args[2]+" "+string(b))
			}
		}
	}
	slices.Sort(out)
	return out
}

// propIntents are the states the property test moves between.
func propIntents() []netcfg.Intent {
	withRoutes := nicIntent("eno1", 13)
	withRoutes.Routes = []netcfg.RouteIntent{
		routeIntent(13, "10.9.0.0/16", "192.168.20.1", "enp2s0"),
		routeIntent(13, "2001:db8:99::/64", "2001:db8:10::1", "eno1"),
	}
	return []netcfg.Intent{{}, nicIntent("eno1", 13), nicIntent("eno1", 14), nicIntent("eno1", 13, "enp2s0", 14), withRoutes}
}

// foreignActor makes rules and routes of the identity of nictab's, as
// another program on the host would, and remembers them to remove later.
type foreignActor struct {
	ns   *nstest.NS
	rng  *rand.Rand
	made [][]string // `ip` arguments that delete what was made
}

// act adds or removes one foreign object, sharing the identity of one of
// nictab's where there is one. It reports what it did.
func (f *foreignActor) act(t *testing.T) string {
	if len(f.made) > 0 && f.rng.IntN(len(f.made)+1) > 0 {
		i := f.rng.IntN(len(f.made))
		del := f.made[i]
		f.made = slices.Delete(f.made, i, i+1)
		_, _ = f.ns.IPErr(del...) // gone already if nictab's plan or a person replaced it
		return "ip " + strings.Join(del, " ")
	}
	var owned []map[string]any
	fam := []string{"-4", "-6"}[f.rng.IntN(2)]
	f.ns.JSON(&owned, fam, "route", "show", "table", "all", "proto", "201")
	dst, table, metric := "10.9.0.0/16", "13", ""
	if fam == "-6" {
		dst, metric = "2001:db8:99::/64", "1024"
	}
	if len(owned) > 0 {
		o := owned[f.rng.IntN(len(owned))]
		dst, _ = o["dst"].(string)
		if tb, ok := o["table"].(string); ok {
			table = tb
		}
		if m, ok := o["metric"].(float64); ok {
			metric = strconv.Itoa(int(m))
		}
	}
	if f.rng.IntN(4) == 0 {
		// A rule of another owner at a priority nictab uses.
		pref := strconv.Itoa(1000 + 10*f.rng.IntN(2))
		from := map[string]string{"-4": "10.66.0.0/16", "-6": "2001:db8:66::/48"}[fam]
		args := []string{fam, "rule", "add", "pref", pref, "from", from, "lookup", table, "proto", "static"}
		if _, err := f.ns.IPErr(args...); err != nil {
			return "refused: ip " + strings.Join(args, " ")
		}
		f.made = append(f.made, []string{fam, "rule", "del", "pref", pref, "from", from, "lookup", table, "proto", "static"})
		return "ip " + strings.Join(args, " ")
	}
	gw := map[string][]string{"-4": {"192.168.10.1", "192.168.10.77"}, "-6": {"2001:db8:10::5", "2001:db8:10::77"}}[fam][f.rng.IntN(2)]
	verb := []string{"add", "prepend", "append", "replace"}[f.rng.IntN(4)]
	args := []string{fam, "route", verb, dst, "via", gw, "dev", "eno1", "table", table, "proto", "static"}
	if metric != "" {
		args = append(args, "metric", metric)
	}
	if _, err := f.ns.IPErr(args...); err != nil {
		return "refused: ip " + strings.Join(args, " ")
	}
	del := []string{fam, "route", "del", dst, "via", gw, "dev", "eno1", "table", table, "proto", "static"}
	if metric != "" {
		del = append(del, "metric", metric)
	}
	f.made = append(f.made, del)
	return "ip " + strings.Join(args, " ")
}

func (f *foreignActor) acts(t *testing.T, log *[]string) {
	for range f.rng.IntN(3) {
		*log = append(*log, f.act(t))
	}
}

// TestPropertyForeignObjects interleaves foreign rules and routes of the
// identity of nictab's (IPv4 and IPv6; add, prepend, append, replace)
// with plan, apply, confirm windows that are kept or reverted, and
// recovery of an interrupted apply. After every step of nictab's, every
// foreign object is byte for byte as the test left it, and what nictab
// said is true of the kernel. NICTAB_PROP_CASES and NICTAB_PROP_SEED
// change the number of cases and the seed.
func TestPropertyForeignObjects(t *testing.T) {
	cases := 200
	if v, err := strconv.Atoi(os.Getenv("NICTAB_PROP_CASES")); err == nil {
		cases = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("NICTAB_PROP_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (NICTAB_PROP_SEED=%d reproduces it)", seed, seed)
	const walks = 4
	counts := map[string]int{}
	for w := range walks {
		r := newRig(t)
		// Half the walks plan under a change monitor, as the CLI's apply
		// and rollback do: the monitor must never let a stale plan by.
		watched := w%2 == 1
		if watched {
			r.mod = func(c *snapshots.EngineConfig) { c.Watch = true }
			r.e = r.engine()
		}
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		fa := &foreignActor{ns: r.ns, rng: rng}
		intents := propIntents()
		for c := range cases / walks {
			var log []string
			step := func(what string) { log = append(log, what) }
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("walk %d case %d (seed %d): %s\nsteps:\n  %s", w, c, seed, fmt.Sprintf(format, args...), strings.Join(log, "\n  "))
			}
			fa.acts(t, &log)
			in := intents[rng.IntN(len(intents))]
			step(fmt.Sprintf("propose %d NICs, %d routes", len(in.NICs), len(in.Routes)))
			p, err := r.e.Propose(in, "prop")
			if err != nil {
				fail("propose: %v", err)
			}
			if rng.IntN(4) == 0 {
				step(fa.act(t)) // between plan and apply: the plan goes stale
			}
			foreign, owned := foreignObjects(t, r.ns), ownedObjects(t, r.ns)
			crashed := journalOf(t, r, p)
			window := time.Duration(0)
			if rng.IntN(2) == 0 && !p.Plan.Empty() {
				window = 5 * time.Second
			}
			step(fmt.Sprintf("apply (window %s)", window))
			out, err := r.e.Apply(p, snapshots.ApplyOptions{Confirm: window})
			sameForeignOr(fail, "apply", foreign, foreignObjects(t, r.ns))
			var ce *netcfg.ConflictError
			var se *netcfg.StaleError
			switch {
			case errors.As(err, &ce) || errors.As(err, &se):
				if se != nil && watched {
					counts["refused: stale, planned under a monitor"]++
				} else if se != nil {
					counts["refused: stale"]++
				} else {
					counts["refused: conflict"]++
				}
				if got := ownedObjects(t, r.ns); !slices.Equal(got, owned) {
					fail("a refused apply changed nictab's objects")
				}
				continue
			case err != nil && strings.Contains(err.Error(), "ALSO failed"):
				// The undo met a foreign object that took the place of one
				// of nictab's: it said so, kept the journal, and recover
				// finishes once that object is gone.
				counts["failed, undo blocked by a foreign object, then recovered"]++
				for len(fa.made) > 0 {
					step(fa.act(t))
				}
				if _, err := r.e.Recover(); err != nil {
					fail("recover once the foreign objects are gone: %v", err)
				}
				if got := ownedObjects(t, r.ns); !slices.Equal(got, owned) {
					fail("recover finished, but nictab's objects differ")
				}
				continue
			case err != nil && strings.Contains(err.Error(), "undone"):
				counts["failed and undone"]++
				if got := ownedObjects(t, r.ns); !slices.Equal(got, owned) {
					fail("apply said undone (%v), but nictab's objects differ", err)
				}
				continue
			case err != nil:
				fail("apply: %v", err)
			}
			if out.Pending == nil && rng.IntN(3) == 0 {
				// As if the apply had been killed before its end: recover
				// undoes it, and says "as before" only when it is.
				if err := snapshots.WriteJournalForTest(r.e, crashed); err != nil {
					fail("write journal: %v", err)
				}
				fa.acts(t, &log)
				foreignNow := foreignObjects(t, r.ns)
				step("recover an interrupted apply")
				what, err := r.e.Recover()
				sameForeignOr(fail, "recover", foreignNow, foreignObjects(t, r.ns))
				switch {
				case snapshots.IsRevertIncomplete(err):
					counts["recover incomplete, then finished"]++
					for len(fa.made) > 0 {
						step(fa.act(t))
					}
					if what, err = r.e.Recover(); err != nil {
						fail("recover once the foreign objects are gone: %v", err)
					}
				case err != nil:
					fail("recover: %v", err)
				default:
					counts["recovered"]++
				}
				if got := ownedObjects(t, r.ns); !slices.Equal(got, owned) {
					fail("recover said %q, but nictab's objects differ", what)
				}
				if now := foreignObjects(t, r.ns); strings.Contains(what, "is as it was before") && !subset(inScope(foreign, crashed.Tables), now) {
					fail("recover said %q, but objects nictab does not own that were there before the apply are gone:\nbefore:\n%s\nnow:\n%s", what, strings.Join(foreign, "\n"), strings.Join(now, "\n"))
				}
				continue
			}
			if out.Pending == nil {
				counts["applied"]++
				checkVerified(t, r, in, fail)
				continue
			}
			fa.acts(t, &log) // during the window
			foreign = foreignObjects(t, r.ns)
			if rng.IntN(2) == 0 {
				step("confirm")
				if _, err := r.e.Confirm(); err != nil {
					fail("confirm: %v", err)
				}
				if _, err := r.e.Wait(context.Background(), out.Pending); err != nil {
					fail("wait: %v", err)
				}
				counts["kept"]++
				sameForeignOr(fail, "confirm", foreign, foreignObjects(t, r.ns))
				continue
			}
			step("revert")
			res, err := r.e.RevertBecause(context.Background(), "property test")
			if err != nil {
				fail("revert: %v", err)
			}
			sameForeignOr(fail, "revert", foreign, foreignObjects(t, r.ns))
			switch res.Result {
			case "reverted":
				counts["reverted"]++
				if got := ownedObjects(t, r.ns); !slices.Equal(got, owned) {
					fail("revert said reverted, but nictab's objects differ:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(owned, "\n"))
				}
			case "revert-incomplete":
				counts["revert incomplete, then recovered"]++
				for len(fa.made) > 0 {
					step(fa.act(t))
				}
				foreign = foreignObjects(t, r.ns)
				if _, err := r.e.Recover(); err != nil {
					fail("recover once the foreign objects are gone: %v", err)
				}
				sameForeignOr(fail, "recover", foreign, foreignObjects(t, r.ns))
				if got := ownedObjects(t, r.ns); !slices.Equal(got, owned) {
					fail("recover finished, but nictab's objects differ")
				}
			default:
				fail("revert outcome %+v", res)
			}
		}
	}
	t.Logf("%d cases: %v", cases, counts)
}

func sameForeignOr(fail func(string, ...any), what string, before, after []string) {
	if !slices.Equal(before, after) {
		fail("%s changed objects nictab does not own:\nbefore:\n%s\nafter:\n%s", what, strings.Join(before, "\n"), strings.Join(after, "\n"))
	}
}

// checkVerified: after an apply that said "verified", planning the same
// intent again finds nothing to change.
func checkVerified(t *testing.T, r *rig, in netcfg.Intent, fail func(string, ...any)) {
	p, err := r.e.Propose(in, "")
	if err != nil {
		fail("propose again: %v", err)
	}
	if !p.Plan.Empty() {
		var s []string
		for _, c := range p.Plan.Changes {
			s = append(s, c.Action.String()+" "+c.Subject().String())
		}
		fail("apply said verified, but planning again changes: %s", strings.Join(s, "; "))
	}
}

// journalOf is the journal an apply of p writes before its first change.
func journalOf(t *testing.T, r *rig, p *snapshots.Proposal) *snapshots.Journal {
	t.Helper()
	k, err := kernel.Open(r.ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	before, err := netcfg.Detect(k, netcfg.LoadNames(netcfg.DefaultNamePaths(r.ns.Name)), netcfg.DetectOptions{Tables: p.Plan.Tables, Owned: true})
	if err != nil {
		t.Fatal(err)
	}
	return &snapshots.Journal{TxID: "crashed", Started: time.Now(), Phase: snapshots.PhaseApplying,
		Before: netcfg.OwnedAsDesired(before), Tables: before.Complete, Foreign: netcfg.ForeignObjects(before)}
}

// subset reports whether every entry of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// inScope keeps the rules, and the routes of tables, of objects as
// foreignObjects lists them: what a journal of those tables vouches for.
func inScope(objs []string, tables []uint32) []string {
	var out []string
	for _, o := range objs {
		if strings.Contains(o, " rule ") {
			out = append(out, o)
			continue
		}
		for _, t := range tables {
			name := strconv.FormatUint(uint64(t), 10)
			if t == netcfg.TableMain {
				name = "main"
			}
			if strings.Contains(o, `"table":"`+name+`"`) {
				out = append(out, o)
			}
		}
	}
	return out
}
