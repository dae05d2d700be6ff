package export

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// nixInstantiate finds nix-instantiate. CI installs it (Debian package
// nix-bin) and must not skip these tests; elsewhere they skip.
func nixInstantiate(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("nix-instantiate")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nix-instantiate is missing; CI must install it (apt-get install -y nix-bin)")
	}
	t.Skip("nix-instantiate not found (apt-get install -y nix-bin); skipping the checks by real Nix")
	return ""
}

// decodeNixString reads one double-quoted Nix string literal the way Nix's
// lexer does, refusing interpolation: the fuzzer's judge of NixString,
// itself checked against real Nix by TestNixStringSeedsByNix.
func decodeNixString(lit string) (string, error) {
	if len(lit) < 2 || lit[0] != '"' {
		return "", errors.New("does not start with a quote")
	}
	var b strings.Builder
	for i := 1; i < len(lit); i++ {
		switch c := lit[i]; c {
		case '"':
			if i != len(lit)-1 {
				return "", fmt.Errorf("string ends at byte %d of %d", i, len(lit))
			}
			return b.String(), nil
		case '\\':
			i++
			if i >= len(lit) {
				return "", errors.New("escape at the end")
			}
			switch e := lit[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(e)
			}
		case '$':
			if i+1 < len(lit) && lit[i+1] == '{' {
				return "", fmt.Errorf("interpolation at byte %d", i)
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated")
}

func TestNixString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"eno1", `"eno1"`},
		{`a"b`, `"a\"b"`},
		{`${builtins.abort "x"}`, `"\${builtins.abort \"x\"}"`},
		{`$(reboot)`, `"\$(reboot)"`},
		{`back\slash`, `"back\\slash"`},
		{"two\nlines\r\t", `"two\nlines\r\t"`},
		{"$", `"\$"`},
		{"$${x}", `"\$\${x}"`},
		{"''${x}", `"''\${x}"`},
		{"esc\x1b[2J", "\"esc\x1b[2J\""},
	} {
		got, err := NixString(c.in)
		if err != nil || got != c.want {
			t.Errorf("NixString(%q) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	if _, err := NixString("a\x00b"); err == nil {
		t.Error("NixString accepted a NUL byte, which no Nix string can hold")
	}
}

func TestNixAttr(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"eno1", "eno1"},
		{"vpn", "vpn"},
		{"my-table_2'", "my-table_2'"},
		{"eth0.100", `"eth0.100"`},
		{"40-eno1", `"40-eno1"`},
		{"-x", `"-x"`},
		{"", `""`},
		{"or", `"or"`},
		{"in", `"in"`},
		{"true", "true"},
		{"${x}", `"\${x}"`},
		{"a b", `"a b"`},
	} {
		got, err := NixAttr(c.in)
		if err != nil || got != c.want {
			t.Errorf("NixAttr(%q) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
}

// checkEscaped is the property the fuzzer holds NixString and NixAttr to:
// the literal decodes, with no interpolation, to exactly the input.
func checkEscaped(t *testing.T, s string) {
	t.Helper()
	lit, err := NixString(s)
	if strings.IndexByte(s, 0) >= 0 {
		if err == nil {
			t.Fatalf("NixString(%q) accepted a NUL byte", s)
		}
		return
	}
	if err != nil {
		t.Fatalf("NixString(%q): %v", s, err)
	}
	got, err := decodeNixString(lit)
	if err != nil || got != s {
		t.Fatalf("NixString(%q) = %s, which reads back as %q (%v)", s, lit, got, err)
	}
	attr, err := NixAttr(s)
	if err != nil {
		t.Fatalf("NixAttr(%q): %v", s, err)
	}
	if attr != lit && (attr != s || !NixIdent(s)) {
		t.Fatalf("NixAttr(%q) = %s, neither the literal nor a plain identifier", s, attr)
	}
	// Shell quoting inside localCommands, then Nix escaping: both must
	// survive each other.
	sq := netcfg.ShellQuote(s)
	lit2, err := NixString(sq)
	if err != nil {
		t.Fatalf("NixString(ShellQuote(%q)): %v", s, err)
	}
	if got, err := decodeNixString(lit2); err != nil || got != sq {
		t.Fatalf("NixString(%q) reads back as %q (%v)", sq, got, err)
	}
}

// nixSeeds reads the seed corpus: one Go-quoted string a line, the inputs
// worth keeping that the fuzzer and hand-picking found.
func nixSeeds(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "export", "nixstring-seeds.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := strconv.Unquote(line)
		if err != nil {
			t.Fatalf("nixstring-seeds.txt:%d: %v", n, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func FuzzNixString(f *testing.F) {
	for _, s := range nixSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(checkEscaped)
}

// TestNixStringSeedsByNix has real Nix judge the escaper on every seed: a
// list of the escaped seeds must parse, and evaluate to strings whose
// SHA-256 is that of the seeds, byte for byte.
func TestNixStringSeedsByNix(t *testing.T) {
	nix := nixInstantiate(t)
	seeds := nixSeeds(t)
	var src strings.Builder
	src.WriteString("map (builtins.hashString \"sha256\") [\n")
	var want, used []string
	for _, s := range seeds {
		if strings.IndexByte(s, 0) >= 0 {
			continue
		}
		used = append(used, s)
		lit, err := NixString(s)
		if err != nil {
			t.Fatal(err)
		}
		attr, err := NixAttr(s)
		if err != nil {
			t.Fatal(err)
		}
		// The attribute name too: `{ NAME = 0; }` must have exactly the
		// one attribute s.
		src.WriteString("  " + lit + "\n  (builtins.head (builtins.attrNames { " + attr + " = 0; }))\n")
		sum := sha256.Sum256([]byte(s))
		want = append(want, hex.EncodeToString(sum[:]), hex.EncodeToString(sum[:]))
	}
	src.WriteString("]\n")
	path := filepath.Join(t.TempDir(), "seeds.nix")
	if err := os.WriteFile(path, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nix, "--readonly-mode", "--parse", path).CombinedOutput(); err != nil {
		t.Fatalf("nix-instantiate --parse: %v\n%s", err, out)
	}
	out, err := exec.Command(nix, "--readonly-mode", "--eval", "--strict", "--json", path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("nix-instantiate --eval: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	if len(got) != len(want) {
		t.Fatalf("Nix returned %d hashes for %d strings", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			s := used[i/2]
			lit, _ := NixString(s)
			t.Errorf("seed %q: Nix reads %s as other bytes", s, lit)
		}
	}
	t.Logf("%d seeds checked by Nix, as strings and as attribute names", len(want)/2)
}
