package main

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/snapshots/export"
)

// Shell completion (`nictab completion bash|zsh|fish`, which ask
// `nictab __complete …`): snapshot ids from the history of --netns and
// --state-dir, NIC names and tables from the namespace --netns names,
// export flavours. A completion that cannot read what it completes from
// offers nothing rather than failing: the shell has no room for an error,
// and the command itself will say what is wrong when it runs.

// completeAt registers complete for a command's positional arguments and,
// by name, for its flags.
func completeAt(c *cobra.Command, args cobra.CompletionFunc, flags map[string]cobra.CompletionFunc) *cobra.Command {
	if args != nil {
		c.ValidArgsFunction = args
	}
	for name, fn := range flags {
		if c.Flags().Lookup(name) != nil {
			_ = c.RegisterFlagCompletionFunc(name, fn)
		}
	}
	return c
}

// checkedGlobals are --netns and --state-dir when they are ones the
// command would accept; completion runs no PersistentPreRunE.
func (a *app) checkedGlobals(cmd *cobra.Command) bool {
	return a.checkGlobals(cmd) == nil
}

// snapshotIDs completes the ids of the history's readable snapshots,
// newest first, each with its summary as the shells show it. It offers
// ids for the first maxArgs arguments only; extra are put first (live,
// for snapshot diff's second).
func (a *app) snapshotIDs(maxArgs int, extra ...string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) >= maxArgs || !a.checkedGlobals(cmd) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := slices.Clone(extra)
		// OpenStore creates nothing: a namespace without history offers
		// no id.
		st, err := snapshots.OpenStore(a.stateRoot(), time.Now)
		if err != nil {
			return out, cobra.ShellCompDirectiveNoFileComp
		}
		ents, err := st.List()
		if err != nil {
			return out, cobra.ShellCompDirectiveNoFileComp
		}
		for i := range ents {
			e := &ents[i]
			if e.Damaged() || slices.Contains(args, e.ID) {
				continue
			}
			out = append(out, e.ID+"\t"+completionText(snapshots.Summary(e.Snapshot)))
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}

// completionText is a description a shell shows beside a candidate: one
// line, no control character.
func completionText(s string) string {
	s = netcfg.SafeText(s)
	if i := strings.IndexAny(s, "\t\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// readNamespace reads the links and rules of --netns for a completion.
func (a *app) readNamespace(cmd *cobra.Command, rules bool) ([]netcfg.Link, []netcfg.Rule, bool) {
	if !a.checkedGlobals(cmd) {
		return nil, nil, false
	}
	k, err := a.openKernel()
	if err != nil {
		return nil, nil, false
	}
	defer func() { _ = k.Close() }()
	links, err := k.Links()
	if err != nil {
		return nil, nil, false
	}
	var rs []netcfg.Rule
	if rules {
		if rs, err = k.Rules(); err != nil {
			return nil, nil, false
		}
	}
	return links, rs, true
}

// completeNICs completes the names of the namespace's NICs (not lo).
func (a *app) completeNICs(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	links, _, ok := a.readNamespace(cmd, false)
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, l := range links {
		if !l.Loopback {
			out = append(out, l.Name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeNICUnit completes --unit NIC=UNIT up to the "=".
func (a *app) completeNICUnit(cmd *cobra.Command, args []string, typed string) ([]string, cobra.ShellCompDirective) {
	if strings.Contains(typed, "=") {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	nics, _ := a.completeNICs(cmd, args, typed)
	for i := range nics {
		nics[i] += "="
	}
	return nics, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// completeTables completes tables by name and by id: the names the
// namespace's iproute2 files give, and every table a rule looks up.
func (a *app) completeTables(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	_, rules, ok := a.readNamespace(cmd, true)
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := a.loadNames()
	seen := map[string]bool{}
	var out []string
	add := func(word, desc string) {
		if word != "" && !seen[word] {
			seen[word] = true
			out = append(out, word+"\t"+completionText(desc))
		}
	}
	ids := []uint32{netcfg.TableMain, netcfg.TableLocal, netcfg.TableDefault}
	for _, t := range names.Tables {
		ids = append(ids, t.ID)
	}
	for i := range rules {
		if rules[i].Action == netcfg.ActionLookup {
			ids = append(ids, rules[i].Table)
		}
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		label := names.TableLabel(id)
		idText := strconv.FormatUint(uint64(id), 10)
		if n := names.TableName(id); n != "" {
			add(n, "table "+idText)
			add(idText, "table "+label)
			continue
		}
		add(idText, "table "+label)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeFlavors completes export nix --flavor.
func completeFlavors(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return []string{
		string(export.FlavorNetworkd) + "\tsystemd.network options (NixOS with networkd)",
		string(export.FlavorScripted) + "\ta service that installs the rules and routes",
	}, cobra.ShellCompDirectiveNoFileComp
}

// addCompletions wires the completions into the commands built by the
// files of this package, found by their path, so that each file keeps its
// command as it was.
func (a *app) addCompletions(root *cobra.Command) {
	ids := a.snapshotIDs(1)
	nic := cobra.CompletionFunc(a.completeNICs)
	for path, fn := range map[string]cobra.CompletionFunc{
		"snapshot show":   ids,
		"rollback":        ids,
		"confirm":         ids,
		"export nix":      ids,
		"export networkd": ids,
		"export ip":       ids,
	} {
		if c := findCmd(root, path); c != nil {
			completeAt(c, fn, nil)
		}
	}
	if c := findCmd(root, "snapshot diff"); c != nil {
		// B may be live as well as an id.
		first, second := a.snapshotIDs(1), a.snapshotIDs(2, "live\tthe state now")
		c.ValidArgsFunction = func(cmd *cobra.Command, args []string, typed string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return first(cmd, args, typed)
			}
			return second(cmd, args, typed)
		}
	}
	flags := map[string]cobra.CompletionFunc{
		"iif": nic, "oif": nic, "rules-nic": nic, "unit": a.completeNICUnit,
		"table": a.completeTables, "flavor": completeFlavors,
	}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		completeAt(c, nil, flags)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// findCmd is the subcommand of root at path ("snapshot show").
func findCmd(root *cobra.Command, path string) *cobra.Command {
	c := root
	for _, name := range strings.Fields(path) {
		var next *cobra.Command
		for _, sub := range c.Commands() {
			if sub.Name() == name {
				next = sub
			}
		}
		if next == nil {
			return nil
		}
		c = next
	}
	return c
}
