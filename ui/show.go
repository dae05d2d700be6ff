package ui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// ShowView is what `nictab show` says about a namespace, and the stable
// JSON schema of `nictab show --json` (documented in README.md).
type ShowView struct {
	Netns    string      `json:"netns,omitempty"`
	NICs     []NICView   `json:"nics"`
	Tables   []TableView `json:"tables"`
	Rules    []RuleView  `json:"rules"`
	Routes   []RouteView `json:"routes"`
	Warnings []string    `json:"warnings"`

	// keepRules, when not nil, are the indexes into Rules of the rules
	// a filter keeps: the NICs screen lists those, and ten thousand
	// rules are not copied on each letter typed.
	keepRules []int
}

// ruleCount is how many rules the view lists.
func (v *ShowView) ruleCount() int {
	if v.keepRules != nil {
		return len(v.keepRules)
	}
	return len(v.Rules)
}

// ruleAt is the i-th rule the view lists.
func (v *ShowView) ruleAt(i int) *RuleView {
	if v.keepRules != nil {
		return &v.Rules[v.keepRules[i]]
	}
	return &v.Rules[i]
}

// NICView is one NIC.
type NICView struct {
	Index     int            `json:"index"`
	Name      string         `json:"name"`
	Kind      string         `json:"kind"`
	State     string         `json:"state"`
	OperState string         `json:"operstate"`
	MAC       string         `json:"mac,omitempty"`
	MTU       int            `json:"mtu"`
	Alias     string         `json:"alias,omitempty"`
	Master    string         `json:"master,omitempty"`
	Addrs     []string       `json:"addresses"`
	Gateways  []string       `json:"gateways"`
	Tables    []NICTableView `json:"tables"`
}

// NICTableView is a table a NIC's traffic is sent to, and the rule that
// does it.
type NICTableView struct {
	ID    uint32 `json:"id"`
	Name  string `json:"name,omitempty"`
	Rule  string `json:"rule"`
	Owned bool   `json:"owned"`
}

// TableView is one routing table. Routes is null when the table was not
// read (main, with a full Internet table, is not read unless asked).
type TableView struct {
	ID     uint32 `json:"id"`
	Name   string `json:"name,omitempty"`
	Rules  int    `json:"rules"`
	Routes *int   `json:"routes"`
	Owned  bool   `json:"owned"`
	// Pending is set on a table only the unapplied edits make, listed
	// in the terminal UI so that rules and routes can be put in it.
	Pending bool `json:"-"`
	// The rules and routes the unapplied edits add to the table and take
	// from it, which the terminal UI shows beside the counts ("3+1").
	RulesAdd, RulesDel, RoutesAdd, RoutesDel int `json:"-"`
}

// RuleView is one rule, as `ip rule` prints it and as fields.
type RuleView struct {
	netcfg.Rule
	Text      string `json:"text"`
	TableName string `json:"table_name,omitempty"`
	Owned     bool   `json:"owned"`
	// Pending is set on a rule only the unapplied edits make.
	Pending bool `json:"-"`
}

// RouteView is one route, as `ip route` prints it and as fields.
type RouteView struct {
	netcfg.Route
	Text  string `json:"text"`
	Owned bool   `json:"owned"`
}

// NICState is a NIC's state as a person says it: up, down, no carrier.
func NICState(l *netcfg.Link) string {
	switch {
	case !l.Up:
		return "down"
	case !l.Carrier:
		return "no carrier"
	}
	return "up"
}

// BuildShow turns a detected state into the show view.
func BuildShow(s netcfg.State, netns string) ShowView {
	v := ShowView{Netns: netns, NICs: []NICView{}, Tables: []TableView{}, Rules: []RuleView{}, Routes: []RouteView{}, Warnings: slices.Clone(s.Names.Warnings)}
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	for i := range s.Links {
		l := &s.Links[i]
		if l.Loopback {
			continue
		}
		n := NICView{Index: l.Index, Name: l.Name, Kind: l.Kind, State: NICState(l), OperState: l.OperState, MAC: l.MAC, MTU: l.MTU, Alias: l.Alias, Master: l.Master, Addrs: []string{}, Gateways: []string{}, Tables: []NICTableView{}}
		if n.Kind == "" {
			n.Kind = "device"
		}
		for _, a := range l.Addrs {
			n.Addrs = append(n.Addrs, a.Prefix.String())
		}
		for _, g := range s.Gateways(l.Name) {
			n.Gateways = append(n.Gateways, g.Addr.String())
		}
		for _, u := range s.NICTables(l) {
			n.Tables = append(n.Tables, NICTableView{ID: u.Table, Name: s.Names.TableName(u.Table), Rule: netcfg.RuleString(&u.Rule), Owned: u.Rule.Owned()})
		}
		v.NICs = append(v.NICs, n)
	}
	tables := map[uint32]*TableView{}
	get := func(id uint32) *TableView {
		if t, ok := tables[id]; ok {
			return t
		}
		t := &TableView{ID: id, Name: s.Names.TableName(id)}
		tables[id] = t
		return t
	}
	for i := range s.Rules {
		r := &s.Rules[i]
		v.Rules = append(v.Rules, RuleView{Rule: *r, Text: netcfg.RuleString(r), TableName: s.Names.TableName(r.Table), Owned: r.Owned()})
		if r.Action == netcfg.ActionLookup {
			t := get(r.Table)
			t.Rules++
			t.Owned = t.Owned || r.Owned()
		}
	}
	for _, id := range s.Complete {
		t := get(id)
		n := 0
		t.Routes = &n
	}
	for i := range s.Routes {
		r := &s.Routes[i]
		v.Routes = append(v.Routes, RouteView{Route: *r, Text: netcfg.RouteString(r), Owned: r.Owned()})
		t := get(r.Table)
		if t.Routes != nil {
			*t.Routes++
		}
		t.Owned = t.Owned || r.Owned()
	}
	for _, n := range s.Names.OwnedTables() {
		get(n.ID).Owned = true
	}
	for _, t := range tables {
		v.Tables = append(v.Tables, *t)
	}
	slices.SortFunc(v.Tables, func(a, b TableView) int { return int(int64(a.ID) - int64(b.ID)) })
	return v
}

// RenderShow is the text of `nictab show`, laid out for width columns.
func RenderShow(v ShowView, width int, st Styles) string {
	var b strings.Builder
	if v.Netns != "" {
		fmt.Fprintf(&b, "%s %s\n\n", st.Muted.Render("network namespace"), netcfg.SafeText(v.Netns))
	}
	b.WriteString(st.Title.Render("NICs") + "\n")
	var rows [][]string
	for _, n := range v.NICs {
		table := "main"
		if len(n.Tables) > 0 {
			var ts []string
			for _, t := range n.Tables {
				s := tableLabel(t.ID, t.Name)
				if t.Owned {
					s += " " + st.Owned.Render("(nictab)")
				}
				ts = append(ts, s)
			}
			table = strings.Join(ts, ", ")
		}
		lines := max(len(n.Addrs), len(n.Gateways), 1)
		for i := range lines {
			row := []string{"", "", at(n.Addrs, i), at(n.Gateways, i), ""}
			if i == 0 {
				state := n.State
				if state != "up" {
					state = st.Warning.Render(state)
				}
				row[0], row[1], row[4] = netcfg.SafeText(n.Name), state, table
				if n.Alias != "" {
					row[0] += " " + st.Muted.Render(truncate(netcfg.SafeText(n.Alias), 16))
				}
			}
			rows = append(rows, row)
		}
		if len(n.Addrs) == 0 {
			rows[len(rows)-1][2] = st.Muted.Render("no address")
		}
	}
	b.WriteString(renderColumns([]string{"NIC", "STATE", "ADDRESS", "GATEWAY", "TABLE"}, rows, st))

	b.WriteString("\n" + st.Title.Render("Tables") + "\n")
	rows = rows[:0]
	for _, t := range v.Tables {
		routes := st.Muted.Render("not read")
		if t.Routes != nil {
			routes = strconv.Itoa(*t.Routes)
		}
		owner := ""
		if t.Owned {
			owner = st.Owned.Render("nictab")
		}
		rows = append(rows, []string{tableLabel(t.ID, t.Name), strconv.Itoa(t.Rules), routes, owner})
	}
	b.WriteString(renderColumns([]string{"TABLE", "RULES", "ROUTES", "OWNER"}, rows, st))

	b.WriteString("\n" + st.Title.Render("Rules") + "\n")
	rows = rows[:0]
	for _, r := range v.Rules {
		owner := ""
		if r.Owned {
			owner = st.Owned.Render("nictab")
		}
		rows = append(rows, []string{strconv.FormatUint(uint64(r.Priority), 10), famLabel(r.Family), netcfg.SafeText(RuleText(&r.Rule, r.TableName, nil)), owner})
	}
	b.WriteString(renderColumns([]string{"PRIO", "FAMILY", "RULE", "OWNER"}, rows, st))
	for _, w := range v.Warnings {
		b.WriteString("\n" + st.Warning.Render("warning:") + " " + netcfg.SafeText(w))
	}
	if len(v.Warnings) > 0 {
		b.WriteString("\n")
	}
	_ = width
	return b.String()
}

func famLabel(f netcfg.Family) string {
	if f == netcfg.V6 {
		return "IPv6"
	}
	return "IPv4"
}

func tableLabel(id uint32, name string) string {
	s := strconv.FormatUint(uint64(id), 10)
	if name != "" && name != s {
		return s + " " + netcfg.SafeText(name)
	}
	return s
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// RouteLine is one route as `ip route show table all` prints it, with the
// table and protocol named.
func RouteLine(r *netcfg.Route, names *netcfg.Names) string {
	args := netcfg.RouteArgs(r)
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "table":
			args[i+1] = names.TableLabel(r.Table)
			if n := names.TableName(r.Table); n != "" {
				args[i+1] = netcfg.SafeText(n)
			}
		case "proto":
			args[i+1] = names.ProtoName(r.Proto)
		case "dev":
			args[i+1] = netcfg.SafeText(args[i+1])
		}
	}
	if o := netcfg.RouteOpaqueText(r); o != "" {
		args = append(args, o)
	}
	return strings.Join(args, " ")
}

// RuleText is a rule without its priority, as a person reads it: the table
// with its name, the protocol by name, and nothing said of the kernel's own
// protocol.
func RuleText(r *netcfg.Rule, tableName string, names *netcfg.Names) string {
	args := netcfg.RuleArgs(r)
	out := args[:0:0]
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "lookup" && i+1 < len(args):
			out = append(out, "lookup", tableLabel(r.Table, tableName))
			i++
		case args[i] == "proto" && i+1 < len(args):
			switch r.Proto {
			case netcfg.ProtoKernel, netcfg.ProtoNictab:
			default:
				p := strconv.Itoa(int(r.Proto))
				if names != nil {
					p = names.ProtoName(r.Proto)
				}
				out = append(out, "proto", p)
			}
			i++
		default:
			out = append(out, args[i])
		}
	}
	if o := netcfg.RuleOpaqueText(r); o != "" {
		out = append(out, o)
	}
	return strings.Join(out, " ")
}

// truncate shortens s to n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
