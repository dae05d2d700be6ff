package snapshots

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nictab/nictab/netcfg"
)

// UnitName is the systemd unit `nictab persist enable` installs.
const UnitName = "nictab-restore.service"

// UnitText is the unit that re-applies the newest snapshot at boot, once
// the NICs it names are up. exe is nictab's absolute path.
func UnitText(exe, stateDir string) string {
	return fmt.Sprintf(`# Installed by nictab persist enable; removed by nictab persist disable.
[Unit]
Description=Restore the policy routing of the newest nictab snapshot
Documentation=man:ip-rule(8)
Wants=network-online.target
After=network-online.target systemd-networkd.service NetworkManager.service

[Service]
Type=oneshot
ExecStart=%s --state-dir %s restore --wait 2m
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
`, systemdQuote(exe), systemdQuote(stateDir))
}

// systemdQuote quotes a word for an ExecStart line.
func systemdQuote(s string) string {
	if !strings.ContainsAny(s, " \t\"'\\$%;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`)
	return `"` + r.Replace(s) + `"`
}

// NetworkdDropIn is the drop-in that stops systemd-networkd from deleting
// routing policy rules it did not create.
const NetworkdDropIn = `# Installed by nictab: without this, systemd-networkd deletes every routing
# policy rule it did not create whenever it (re)configures a link, nictab's
# among them.
[Network]
ManageForeignRoutingPolicyRules=no
`

// NetworkdDropInPath is where nictab puts that drop-in under /etc/systemd.
const NetworkdDropInPath = "networkd.conf.d/nictab.conf"

// NetworkdForeignRules reports whether systemd-networkd, configured from
// root (normally /etc/systemd), manages foreign routing policy rules, and
// the file that decides it ("" for networkd's default, which is yes).
// Drop-ins are read as systemd reads them: networkd.conf, then
// networkd.conf.d/*.conf in order, the last setting winning.
func NetworkdForeignRules(root string) (bool, string, error) {
	files := []string{filepath.Join(root, "networkd.conf")}
	dropins, err := filepath.Glob(filepath.Join(root, "networkd.conf.d", "*.conf"))
	if err != nil {
		return true, "", err
	}
	slices.SortFunc(dropins, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	files = append(files, dropins...)
	manage, from := true, ""
	for _, f := range files {
		v, ok, err := iniValue(f, "Network", "ManageForeignRoutingPolicyRules")
		if err != nil {
			return manage, from, err
		}
		if ok {
			manage, from = parseBool(v), f
		}
	}
	return manage, from, nil
}

func parseBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "0", "no", "false", "off":
		return false
	}
	return true
}

// iniValue reads key from section of a systemd-style ini file; a missing
// file has no value.
func iniValue(path, section, key string) (string, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in, val, found := false, "", false
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || l[0] == '#' || l[0] == ';':
		case l[0] == '[':
			in = l == "["+section+"]"
		case in:
			k, v, ok := strings.Cut(l, "=")
			if ok && strings.TrimSpace(k) == key {
				val, found = strings.TrimSpace(v), true
			}
		}
	}
	return val, found, sc.Err()
}

// Restore re-applies the newest snapshot's rules, routes and names, as the
// boot unit does: it waits up to wait for the NICs the snapshot's routes
// use to exist and be up, applies without a confirm window, and does not
// record a new snapshot (the newest one already says what is live). It
// returns what it did, for the log.
func (e *Engine) Restore(wait time.Duration) (string, error) {
	latest, err := e.store.Latest()
	if err != nil {
		return "", err
	}
	if latest == nil {
		return "no snapshot to restore: nothing done", nil
	}
	var nics []string
	for _, r := range latest.Resolved.Routes {
		for _, d := range routeDevs(&r) {
			if !slices.Contains(nics, d) {
				nics = append(nics, d)
			}
		}
	}
	deadline := e.cfg.Now().Add(wait)
	for {
		missing, err := e.nicsNotUp(nics)
		if err != nil {
			return "", err
		}
		if len(missing) == 0 {
			break
		}
		if e.cfg.Now().After(deadline) {
			return "", fmt.Errorf("snapshot %s needs %s, still not up after %s: nothing was changed", latest.Meta.ID, strings.Join(missing, ", "), wait)
		}
		time.Sleep(250 * time.Millisecond)
	}
	p, err := e.ProposeRollback(latest)
	if err != nil {
		return "", err
	}
	if p.Plan.Empty() {
		return fmt.Sprintf("snapshot %s is live already: nothing to do", latest.Meta.ID), nil
	}
	p.Kind = "restore"
	out, err := e.Apply(p, ApplyOptions{Unrecorded: true})
	if err != nil {
		return "", err
	}
	add, del, repl := p.Plan.Counts()
	return fmt.Sprintf("restored snapshot %s: %d steps (%d added, %d changed, %d deleted)", latest.Meta.ID, out.Result.Steps, add, repl, del), nil
}

func (e *Engine) nicsNotUp(nics []string) ([]string, error) {
	k, err := e.cfg.Open()
	if err != nil {
		return nil, err
	}
	defer k.Close()
	links, err := k.Links()
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, n := range nics {
		i := slices.IndexFunc(links, func(l netcfg.Link) bool { return l.Name == n })
		if i < 0 || !links[i].Up {
			missing = append(missing, n)
		}
	}
	return missing, nil
}
