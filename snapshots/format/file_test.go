package format

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nictab/nictab/netcfg"
)

func loadGood(t *testing.T, name string) *Snapshot {
	t.Helper()
	s, err := Load(filepath.Join("testdata", "files", "good", name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	addr   = netip.MustParseAddr
	prefix = netip.MustParsePrefix
)

func TestSpecExample(t *testing.T) {
	s := loadGood(t, "spec-example.yaml")
	if s.Version != 1 || s.Comment != "openvpn NIC to its own table" || s.Meta != nil || s.Resolved != nil {
		t.Errorf("version %d, comment %q, meta %v, resolved %v", s.Version, s.Comment, s.Meta, s.Resolved)
	}
	want := netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14, Name: "lan"}},
		NICs: []netcfg.NICIntent{
			{Name: "eno1", Table: netcfg.TableRef{ID: 13}, Gateways: []netip.Addr{addr("192.168.10.1")}, Select: []netcfg.Selector{netcfg.SelectFrom}},
			{Name: "enp2s0", Table: netcfg.TableRef{ID: 14}},
		},
	}
	if diff := cmp.Diff(want, s.Intent, snapshotOpts); diff != "" {
		t.Errorf("intent (-want +got):\n%s", diff)
	}
}

func TestEveryIntentField(t *testing.T) {
	s := loadGood(t, "person-every-field.yaml")
	if s.Comment != "three NICs, three tables\nand a mark\n" {
		t.Errorf("comment %q", s.Comment)
	}
	mark := func(v, m uint32) *netcfg.FwMark { return &netcfg.FwMark{Value: v, Mask: m} }
	want := netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14}, {ID: 300, Name: "lab-v6"}},
		NICs: []netcfg.NICIntent{
			{Name: "eno1", Table: netcfg.TableRef{Name: "vpn"}, Gateways: []netip.Addr{addr("192.168.10.1"), addr("2001:db8:10::1")}, Select: []netcfg.Selector{"from", "oif"}, Priority: 1000},
			{Name: "tun0", Table: netcfg.TableRef{ID: 14}, Gateways: []netip.Addr{addr("fe80::1")}, Select: []netcfg.Selector{"fwmark"}, FwMark: mark(0x13, 0xff)},
			{Name: "wg0", Table: netcfg.TableRef{ID: 300}, Select: []netcfg.Selector{"iif", "fwmark"}, FwMark: mark(19, 0xffffffff)},
		},
		Rules: []netcfg.RuleIntent{
			{Priority: 900, From: prefix("10.0.0.0/8"), To: prefix("192.168.0.0/16"), IIF: "eth0", OIF: "eth1", FwMark: mark(1, 0xffffffff), Table: netcfg.TableRef{ID: 13}},
			{To: prefix("192.168.20.7/32"), Table: netcfg.TableRef{Name: "vpn"}},
			{From: prefix("2001:db8::/32"), FwMark: mark(0x20, 0xf0), Table: netcfg.TableRef{ID: 300}},
		},
		Routes: []netcfg.RouteIntent{
			{Table: netcfg.TableRef{ID: 13}, Type: netcfg.RouteUnicast, To: prefix("10.9.0.0/16"), Via: addr("192.168.10.254"), Dev: "eno1", Src: addr("192.168.10.2"), Scope: scope(netcfg.ScopeLink), Metric: 50},
			{Table: netcfg.TableRef{Name: "vpn"}, To: prefix("::/0"), Via: addr("2001:db8:10::1")},
			{Table: netcfg.TableRef{ID: 14}, To: prefix("10.20.0.0/16"), Dev: "tun0"},
			{Table: netcfg.TableRef{ID: 14}, To: prefix("0.0.0.0/0"), Src: addr("10.8.0.2"), Dev: "tun0", Metric: 10},
			{Table: netcfg.TableRef{ID: 300}, Type: netcfg.RouteBlackhole, To: prefix("203.0.113.9/32")},
			{Table: netcfg.TableRef{ID: 300}, Type: netcfg.RouteUnreachable, To: prefix("::/0"), Scope: scope(netcfg.ScopeUniverse)},
		},
	}
	if diff := cmp.Diff(want, s.Intent, snapshotOpts); diff != "" {
		t.Errorf("intent (-want +got):\n%s", diff)
	}
}

// TestValueForms checks the forms one field may take, each in a file of
// its own.
func TestValueForms(t *testing.T) {
	nic := func(extra string) string {
		return "version: 1\nnics:\n  - name: eno1\n    table: 13\n" + extra
	}
	for _, tc := range []struct {
		name, file string
		check      func(*Snapshot) any // returns the value to compare with want
		want       any
	}{
		{"fwmark integer", nic("    select: [fwmark]\n    fwmark: 19\n"), func(s *Snapshot) any { return *s.Intent.NICs[0].FwMark }, netcfg.FwMark{Value: 19, Mask: 0xffffffff}},
		{"fwmark hex", nic("    select: [fwmark]\n    fwmark: 0x13\n"), func(s *Snapshot) any { return *s.Intent.NICs[0].FwMark }, netcfg.FwMark{Value: 0x13, Mask: 0xffffffff}},
		{"fwmark quoted hex", nic("    select: [fwmark]\n    fwmark: \"0x13\"\n"), func(s *Snapshot) any { return *s.Intent.NICs[0].FwMark }, netcfg.FwMark{Value: 0x13, Mask: 0xffffffff}},
		{"fwmark value/mask", nic("    select: [fwmark]\n    fwmark: 0x100/0xff00\n"), func(s *Snapshot) any { return *s.Intent.NICs[0].FwMark }, netcfg.FwMark{Value: 0x100, Mask: 0xff00}},
		{"fwmark zero", nic("    select: [fwmark]\n    fwmark: 0\n"), func(s *Snapshot) any { return *s.Intent.NICs[0].FwMark }, netcfg.FwMark{Value: 0, Mask: 0xffffffff}},
		{"table by name", "version: 1\nnics:\n  - {name: eno1, table: vpn}\n", func(s *Snapshot) any { return s.Intent.NICs[0].Table }, netcfg.TableRef{Name: "vpn"}},
		{"table by hex id", "version: 1\nnics:\n  - {name: eno1, table: 0x10}\n", func(s *Snapshot) any { return s.Intent.NICs[0].Table }, netcfg.TableRef{ID: 16}},
		{"largest table id", "version: 1\ntables: [{id: 4294967295}]\n", func(s *Snapshot) any { return s.Intent.Tables[0].ID }, uint32(4294967295)},
		{"first id after the kernel's", "version: 1\ntables: [{id: 256}]\n", func(s *Snapshot) any { return s.Intent.Tables[0].ID }, uint32(256)},
		{"single gateway as a list", nic("    gateway: [192.168.10.1]\n"), func(s *Snapshot) any { return s.Intent.NICs[0].Gateways }, []netip.Addr{addr("192.168.10.1")}},
		{"priority bounds", nic("    priority: 32765\n"), func(s *Snapshot) any { return s.Intent.NICs[0].Priority }, uint32(32765)},
		{"null sections", "version: 1\ncomment:\ntables:\nnics:\nrules:\nroutes:\n", func(s *Snapshot) any {
			return len(s.Intent.Tables) + len(s.Intent.NICs) + len(s.Intent.Rules) + len(s.Intent.Routes)
		}, 0},
		{"route host bits masked", "version: 1\nroutes: [{table: 13, to: 10.1.2.3/8, dev: eno1}]\n", func(s *Snapshot) any { return s.Intent.Routes[0].To }, prefix("10.0.0.0/8")},
		{"default from via", "version: 1\nroutes: [{table: 13, to: default, via: 10.0.0.1}]\n", func(s *Snapshot) any { return s.Intent.Routes[0].To }, prefix("0.0.0.0/0")},
		{"IPv4 route via IPv6", "version: 1\nroutes: [{table: 13, to: 10.0.0.0/8, via: \"fe80::1\", dev: eno1}]\n", func(s *Snapshot) any { return s.Intent.Routes[0].Via }, addr("fe80::1")},
		{"rule from address", "version: 1\nrules: [{from: \"2001:db8::5\", table: 13}]\n", func(s *Snapshot) any { return s.Intent.Rules[0].From }, prefix("2001:db8::5/128")},
		{"same rule at two priorities", "version: 1\nrules: [{priority: 10, table: 13}, {priority: 20, table: 13}]\n", func(s *Snapshot) any { return len(s.Intent.Rules) }, 2},
		{"empty resolved", "version: 1\nresolved: {}\n", func(s *Snapshot) any { return s.Resolved != nil && len(s.Resolved.Rules) == 0 }, true},
		{"time zone to UTC", "version: 1\nsnapshot: {id: x, time: \"2026-11-24T18:55:12+01:00\"}\n", func(s *Snapshot) any { return s.Meta.Time }, time.Date(2026, 11, 24, 17, 55, 12, 0, time.UTC)},
		{"CRLF line ends", "version: 1\r\nnics:\r\n  - name: eno1\r\n    table: 13\r\n", func(s *Snapshot) any { return s.Intent.NICs[0].Name }, "eno1"},
		{"document markers", "---\nversion: 1\ncomment: x\n...\n", func(s *Snapshot) any { return s.Comment }, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("t.yaml", []byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tc.check(s), snapshotOpts); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestChecksum(t *testing.T) {
	out, err := Marshal(fullSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	body, last, _ := strings.Cut(string(out), "\nchecksum: ")
	if want := Checksum([]byte(body+"\n")) + "\n"; last != want {
		t.Errorf("checksum line holds %q, want %q", last, want)
	}
	// Every byte before the checksum line is covered: change any one and
	// the file is reported as damaged.
	for i := 0; i < len(body); i += 7 {
		bad := []byte(string(out))
		bad[i] ^= 0x01
		_, err := Parse("tampered.yaml", bad)
		if !errors.Is(err, ErrChecksum) {
			t.Fatalf("byte %d (%q) changed: err = %v, want ErrChecksum", i, out[i], err)
		}
		var fe *FileError
		if !errors.As(err, &fe) || fe.Field != "checksum" {
			t.Fatalf("byte %d changed: %#v", i, err)
		}
	}
	// Without its checksum line the file is a person's file again, and
	// loads; CRLF line ends are covered byte for byte too.
	if _, err := Parse("edited.yaml", []byte(body+"\n")); err != nil {
		t.Errorf("without the checksum line: %v", err)
	}
	crlf := []byte(strings.ReplaceAll(body+"\n", "\n", "\r\n"))
	crlf = append(crlf, "checksum: "+Checksum(crlf)+"\r\n"...)
	if _, err := Parse("crlf.yaml", crlf); err != nil {
		t.Errorf("CRLF file with its checksum: %v", err)
	}
}

func TestFileErrorText(t *testing.T) {
	for _, tc := range []struct {
		e    FileError
		want string
	}{
		{FileError{File: "a.yaml", Line: 3, Column: 7, Field: "nics[0].table", Msg: "bad"}, "a.yaml:3:7: nics[0].table: bad"},
		{FileError{File: "a.yaml", Line: 3, Msg: "bad"}, "a.yaml:3: bad"},
		{FileError{File: "a.yaml", Msg: "the file is empty"}, "a.yaml: the file is empty"},
		{FileError{Line: 2, Column: 1, Field: "version", Msg: "bad"}, "2:1: version: bad"},
		{FileError{Field: "routes[0]", Msg: "bad"}, "routes[0]: bad"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want a not-exist error naming %s", err, path)
	}
}

func TestLoadNamesFileInErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blog.yaml")
	if err := os.WriteFile(path, []byte("version: 1\nnics: [{name: eno1}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if want := path + ":2:8: nics[0].table: missing"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want it to start with %q", err, want)
	}
}

func TestMarshalRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *Snapshot
		msg  string
	}{
		{"nil", nil, "no snapshot"},
		{"future version", &Snapshot{Version: 2}, "version 2"},
		{"meta without time", &Snapshot{Meta: &Meta{ID: "x"}}, "snapshot.time: missing"},
		{"route without destination", &Snapshot{Resolved: &netcfg.Owned{Routes: []netcfg.Route{{Table: 13}}}}, "resolved.routes[0].to: missing"},
		{"bad interface name", &Snapshot{Intent: netcfg.Intent{NICs: []netcfg.NICIntent{{Name: "a/b", Table: netcfg.TableRef{ID: 13}}}}}, "not a valid interface name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Marshal(tc.s)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want one saying %q; wrote:\n%s", err, tc.msg, out)
			}
		})
	}
}

func TestQuotedTextRoundTrips(t *testing.T) {
	for _, c := range []string{
		"plain", "with spaces", "13", "0x13", "true", "null", "~", "- dash", "a: b", "#hash", "quote\"d", `back\slash`,
		"tab\there", "new\nline", "\x00\x1b[2J", "ünïcødé ✓", "\u2028\u0085\ufeff", " lead", "trail ", "2026-11-24", "1e3", ".inf", "@at", "*star", "&amp", "!bang", "%pct", "'single'", "{x}", "[x]", "a,b",
	} {
		s := &Snapshot{Version: Version, Comment: c}
		out, err := Marshal(s)
		if err != nil {
			t.Errorf("%q: %v", c, err)
			continue
		}
		got, err := Parse("q.yaml", out)
		if err != nil {
			t.Errorf("%q: %v in:\n%s", c, err, out)
		} else if got.Comment != c {
			t.Errorf("%q came back as %q from:\n%s", c, got.Comment, out)
		}
	}
}
