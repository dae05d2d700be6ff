package export

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// rawControl finds a byte a terminal would act on: a C0 control other than
// newline and tab, DEL, a C1 control, or invalid UTF-8.
func rawControl(s string) (int, bool) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if controlRune(r, n) {
			return i, true
		}
		i += n
	}
	return 0, false
}

func TestExportsHoldNoRawControlCharacters(t *testing.T) {
	s := resolveFixture(t, func() *format.Meta {
		m := fixMeta("250301-101500", "host\x1b]0;pwned\x07", false)
		return m
	}(), "comment \x1b[2J\u0085 end",
		[]netcfg.TableDef{{ID: 13, Name: "vpn"}},
		[]fixNIC{{name: "e\x1b[31mth\u0085\x7f", addrs: []string{"192.168.10.2/24"}, table: 13, gws: []string{"192.168.10.1"}}}, nil)
	ip, err := IP(s, IPOptions{Version: "1", Netns: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	nix, err := Nix(s, NixOptions{Flavor: FlavorScripted, Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"export ip": ip, "export nix --flavor scripted": nix} {
		if i, bad := rawControl(text); bad {
			t.Errorf("%s holds a raw control character at byte %d: %q", name, i, text[max(0, i-30):min(len(text), i+30)])
		}
	}
	if !strings.Contains(ip, "ip -n lab route replace") || !strings.Contains(ip, "/etc/netns/lab/iproute2") {
		t.Errorf("export ip for namespace lab does not act there:\n%s", ip)
	}
	// The escaped command still passes the same bytes: run the printf
	// part through a real shell.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	line := scriptLine(netcfg.ShellQuote("e\x1b[31mth\u0085\x7f"))
	script := filepath.Join(t.TempDir(), "s.sh")
	if err := os.WriteFile(script, []byte("printf '%s' "+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sh, script).Output()
	if err != nil || string(out) != "e\x1b[31mth\u0085\x7f" {
		t.Errorf("sh made %q of %s, %v", out, line, err)
	}
}
