package snapshots

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// indexTestStore is a store of three snapshots (the newest with two
// routes), saved as nictab saves them.
func indexTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	now := time.Date(2026, 11, 24, 17, 55, 12, 0, time.UTC)
	dir := t.TempDir()
	st, err := OpenStore(dir, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for i, comment := range []string{"first", "second", "third"} {
		res := &netcfg.Owned{}
		for j := range i {
			res.Routes = append(res.Routes, netcfg.Route{Table: 100, Type: netcfg.RouteUnicast, Proto: netcfg.ProtoNictab, Dev: "eno1",
				Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(j), 0}), 24)})
		}
		s := &format.Snapshot{Version: 1, Comment: comment, Meta: &format.Meta{Time: now, Kind: "apply"}, Resolved: res}
		if err := st.Save(s); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
	}
	return st, filepath.Join(dir, "snapshots")
}

// fromList is what a listing showed before the index: every file parsed.
func fromList(t *testing.T, st *Store) []Listed {
	t.Helper()
	all, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []Listed
	for _, en := range all {
		l := Listed{ID: en.ID, Path: en.Path, Err: en.Err}
		if en.Err == nil {
			s := en.Snapshot
			l.Time, l.Kind, l.Comment, l.Summary = s.Meta.Time, s.Meta.Kind, s.Comment, Summary(s)
		}
		out = append(out, l)
	}
	return out
}

func sameListing(t *testing.T, what string, got, want []Listed) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d entries, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Path != w.Path || !g.Time.Equal(w.Time) || g.Kind != w.Kind || g.Comment != w.Comment || g.Summary != w.Summary || g.Damaged() != w.Damaged() {
			t.Errorf("%s: entry %d = %+v, want %+v", what, i, g, w)
		}
	}
}

// rewriteIndex changes every summary in the index (keeping it well formed
// and checksummed), so a listing that shows "from the index" read it.
func rewriteIndex(t *testing.T, snapDir string) {
	t.Helper()
	d, err := os.Open(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	idx := readIndex(d)
	if len(idx) != 3 {
		t.Fatalf("the index holds %d entries after three saves, want 3", len(idx))
	}
	var entries []indexEntry
	for _, e := range idx {
		e.Summary = "from the index"
		entries = append(entries, *e)
	}
	if err := writeIndex(d, entries); err != nil {
		t.Fatal(err)
	}
}

func TestListingIsTheFullListing(t *testing.T) {
	st, snapDir := indexTestStore(t)
	// A file the index never saw, and a damaged one.
	newest, err := st.Latest()
	if err != nil {
		t.Fatal(err)
	}
	newest.Meta.ID, newest.Comment = "261124-180000", "copied"
	b, err := format.Marshal(newest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(snapDir, "261124-180000.yaml"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(snapDir, "261124-180100.yaml"), []byte("version: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := st.Listing()
	if err != nil {
		t.Fatal(err)
	}
	sameListing(t, "listing", got, fromList(t, st))
	if !got[0].Damaged() || got[1].Comment != "copied" || got[2].Summary != "0 rules, 2 routes" {
		t.Errorf("listing = %+v", got)
	}
}

func TestListingReadsTheIndexOnlyForUnchangedFiles(t *testing.T) {
	st, snapDir := indexTestStore(t)
	full := fromList(t, st)
	rewriteIndex(t, snapDir)
	got, err := st.Listing()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range got {
		if l.Summary != "from the index" {
			t.Fatalf("an unchanged file was parsed rather than listed from the index: %+v", l)
		}
	}

	// The same bytes written again, and its mtime set back: its ctime
	// moved, so the index entry no longer stands for it.
	p := got[0].Path
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // past the file system's timestamp tick
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got, _ = st.Listing(); got[0].Summary != full[0].Summary || got[1].Summary != "from the index" {
		t.Errorf("after a rewrite of %s: %+v", p, got)
	}

	// Damage of the same size in an indexed file: listed as damaged.
	if b, err = os.ReadFile(got[1].Path); err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(got[1].Path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ = st.Listing(); !got[1].Damaged() {
		t.Errorf("a file changed after it was indexed is not listed as damaged: %+v", got[1])
	}
}

func TestListingFallsBackWithoutATrustedIndex(t *testing.T) {
	for name, spoil := range map[string]func(p string, b []byte) error{
		"missing": func(p string, _ []byte) error { return os.Remove(p) },
		"checksum": func(p string, b []byte) error {
			return os.WriteFile(p, []byte(strings.Replace(string(b), "from the index", "from the index!", 1)), 0o600)
		},
		"version": func(p string, b []byte) error {
			return os.WriteFile(p, []byte(strings.Replace(string(b), fmt.Sprintf("%s %d ", indexMagic, indexVersion), fmt.Sprintf("%s %d ", indexMagic, indexVersion+1), 1)), 0o600)
		},
		"truncated": func(p string, b []byte) error { return os.WriteFile(p, b[:len(b)/2], 0o600) },
		"symlink": func(p string, b []byte) error {
			other := filepath.Join(filepath.Dir(p), "..", "elsewhere")
			if err := os.WriteFile(other, b, 0o600); err != nil {
				return err
			}
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Symlink(other, p)
		},
		"hard link": func(p string, _ []byte) error {
			return os.Link(p, filepath.Join(filepath.Dir(p), "..", "second-name"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			st, snapDir := indexTestStore(t)
			full := fromList(t, st)
			rewriteIndex(t, snapDir)
			p := filepath.Join(snapDir, indexName)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := spoil(p, b); err != nil {
				t.Fatal(err)
			}
			got, err := st.Listing()
			if err != nil {
				t.Fatal(err)
			}
			sameListing(t, "listing", got, full)
			// The next save writes a good index again.
			if err := st.Save(&format.Snapshot{Version: 1, Meta: &format.Meta{Time: time.Now().UTC(), Kind: "save"}, Resolved: &netcfg.Owned{}}); err != nil {
				t.Fatal(err)
			}
			d, err := os.Open(snapDir)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if n := len(readIndex(d)); n != 4 {
				t.Errorf("after a save the index holds %d entries, want 4", n)
			}
		})
	}
}

func TestFindAndLatestThroughTheListing(t *testing.T) {
	st, _ := indexTestStore(t)
	full := fromList(t, st)
	latest, err := st.Latest()
	if err != nil || latest.Meta.ID != full[0].ID || len(latest.Resolved.Routes) != 2 {
		t.Fatalf("latest = %v, %v", latest, err)
	}
	back, err := st.Back(2)
	if err != nil || back.Meta.ID != full[2].ID || back.Comment != "first" {
		t.Fatalf("back 2 = %v, %v", back, err)
	}
	if _, err := st.Back(3); err == nil || !strings.Contains(err.Error(), "holds 3 snapshots") {
		t.Errorf("back 3: %v", err)
	}
	en, err := st.Find(full[1].ID)
	if err != nil || en.Snapshot == nil || en.Snapshot.Comment != "second" {
		t.Fatalf("find = %+v, %v", en, err)
	}
}

// TestCommittedSnapshotIsIndexed: moving a pending snapshot into the
// history changes its ctime, so the commit indexes it again, whether the
// process that commits wrote it (from memory) or not (`nictab confirm`,
// the watchdog: by reading it once), and no later listing parses it.
func TestCommittedSnapshotIsIndexed(t *testing.T) {
	for _, sameStore := range []bool{true, false} {
		st, snapDir := indexTestStore(t)
		s := &format.Snapshot{Version: 1, Comment: "pending", Meta: &format.Meta{ID: "261124-190000", Time: time.Date(2026, 11, 24, 19, 0, 0, 0, time.UTC), Kind: "apply"}, Resolved: &netcfg.Owned{}}
		if err := st.savePending(s); err != nil {
			t.Fatal(err)
		}
		committer := st
		if !sameStore {
			var err error
			if committer, err = OpenStore(filepath.Dir(snapDir), time.Now); err != nil {
				t.Fatal(err)
			}
		}
		if err := committer.commitPending(s.Meta.ID); err != nil {
			t.Fatal(err)
		}
		d, err := os.Open(snapDir)
		if err != nil {
			t.Fatal(err)
		}
		ie := readIndex(d)[s.Meta.ID+".yaml"]
		st2, ok := stampAt(d, s.Meta.ID+".yaml")
		d.Close()
		if ie == nil || !ok || !ie.matches(st2) {
			t.Errorf("same store %v: after the commit the index entry is %+v for a file stamped %+v: every listing would parse it", sameStore, ie, st2)
		}
	}
}

// TestIndexSaysHowManyRoutes: the index entry of a snapshot says how many
// routes it records, which is what a plan's read of nictab's tables is
// sized by; without the index the listing reads the files and says the
// same.
func TestIndexSaysHowManyRoutes(t *testing.T) {
	st, dir := indexTestStore(t)
	if got := st.latestRoutes(); got != 2 {
		t.Errorf("latestRoutes = %d, want the newest snapshot's 2", got)
	}
	if err := os.Remove(filepath.Join(dir, indexName)); err != nil {
		t.Fatal(err)
	}
	if got := st.latestRoutes(); got != 2 {
		t.Errorf("latestRoutes without an index = %d, want 2 from the files", got)
	}
	if got := (&Store{}).latestRoutes(); got != 0 {
		t.Errorf("latestRoutes of no history = %d, want 0 (no guess)", got)
	}
}
