package snapshots

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nictab/nictab/snapshots/format"
)

// TestLatestResolvedSameAsLatest: the records' read of the newest
// snapshot from its snapshot: line on gives what reading it whole gives,
// with an intent before it; a newest file that does not check out is
// passed over as Latest passes over it.
func TestLatestResolvedSameAsLatest(t *testing.T) {
	st, snapDir := indexTestStore(t)
	newest, err := st.Latest()
	if err != nil {
		t.Fatal(err)
	}
	in, err := format.Parse("intent.yaml", []byte("version: 1\nroutes:\n  - {table: 100, to: 10.9.0.0/16, dev: eno1}\n  - {table: 100, to: 10.8.0.0/16, dev: eno1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	newest.Intent = in.Intent
	newest.Meta.ID = "261124-180000"
	if err := st.Save(newest); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		want, err := st.Latest()
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.latestResolved()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want.Resolved) {
			t.Errorf("%s: latestResolved %+v, Latest's %+v", what, got, want.Resolved)
		}
	}
	check("intact")
	all, err := st.Listing()
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := st.readResolved(&all[0]); !ok || len(r.Routes) != 2 {
		t.Fatalf("the newest file was not read from its snapshot: line (ok %v, %+v)", ok, r)
	}

	// The newest file changed behind nictab's back: its checksum fails,
	// and the records come from the snapshot before it.
	p := filepath.Join(snapDir, all[0].ID+".yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append([]byte("# edited\n"), b...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.readResolved(&all[0]); ok {
		t.Error("a file whose checksum fails was read for the records")
	}
	check("damaged newest")
}
