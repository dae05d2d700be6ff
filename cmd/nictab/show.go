package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/ui"
)

func (a *app) showCmd() *cobra.Command {
	var (
		asJSON bool
		tables []string
		all    bool
	)
	c := &cobra.Command{
		Use:   "show",
		Short: "Show NICs, addresses, gateways, tables, rules and routes",
		Long: `Show the NICs with their addresses, gateways and the table their traffic
uses, then the routing tables with their rule and route counts, then the
rules. Tables that no rule refers to are not read: a full Internet table in
main costs nothing here. --table lists the routes of one table, --all of
every table; both stream, whatever the table's size.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Only a state directory that exists can hold an open window;
			// show creates none.
			if _, err := os.Stat(a.stateRoot()); err == nil {
				if e, err := a.engine(); err == nil {
					a.noticeWindow(e, "show")
				}
			}
			k, err := a.openKernel()
			if err != nil {
				return err
			}
			defer k.Close()
			names := a.loadNames()
			if all || len(tables) > 0 {
				ids, err := tableIDs(tables, &names)
				if err != nil {
					return err
				}
				if asJSON {
					return a.showRoutesJSON(k, &names, ids)
				}
				return a.showRoutes(k, &names, ids, false)
			}
			// NOTE: not Owned, which has the kernel walk every table,
			// main's full Internet table included, to find nictab's
			// routes: ~0.1 s a million routes. The tables that matter
			// here are those rules send traffic to and those nictab
			// named; a table of nictab's that neither is routes nothing.
			var own []uint32
			for _, t := range names.OwnedTables() {
				own = append(own, t.ID)
			}
			s, err := netcfg.Detect(k, names, netcfg.DetectOptions{RuleTables: true, Tables: own})
			if err != nil {
				return err
			}
			v := ui.BuildShow(s, a.netns)
			if st, err := snapshots.OpenStore(a.stateRoot(), nil); err != nil {
				v.Warnings = append(v.Warnings, "cannot tell which rules and routes of protocol nictab are in the history: "+err.Error())
			} else if lines, err := st.NotInHistory(s); err != nil {
				v.Warnings = append(v.Warnings, "cannot tell which rules and routes of protocol nictab are in the history: "+err.Error())
			} else {
				for _, l := range lines {
					v.Warnings = append(v.Warnings, a.hints(l))
				}
			}
			if asJSON {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			_, err = fmt.Fprint(a.out, ui.RenderShow(v, 80, a.styles()))
			return err
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (schema in README.md)")
	c.Flags().StringSliceVar(&tables, "table", nil, "list the routes of this table (id or name; repeatable)")
	c.Flags().BoolVar(&all, "all", false, "list the routes of every table")
	return c
}

func tableIDs(args []string, names *netcfg.Names) ([]uint32, error) {
	var out []uint32
	for _, t := range args {
		if id, err := strconv.ParseUint(t, 0, 32); err == nil {
			out = append(out, uint32(id))
			continue
		}
		id, ok := names.TableID(t)
		if !ok {
			return nil, usagef("no table is named %q (names come from %s)", t, names.Dir)
		}
		out = append(out, id)
	}
	return out, nil
}

// showRoutes streams routes to the output as the kernel sends them: a table
// of a million routes never sits in memory.
func (a *app) showRoutes(k netcfg.Kernel, names *netcfg.Names, ids []uint32, asJSON bool) error {
	w := bufio.NewWriterSize(a.out, 64<<10)
	defer w.Flush()
	queries := []netcfg.RouteQuery{{}}
	if len(ids) > 0 {
		queries = queries[:0]
		for _, id := range ids {
			queries = append(queries, netcfg.RouteQuery{Table: id})
		}
	}
	first := true
	if asJSON {
		w.WriteString("[")
	}
	enc := json.NewEncoder(w)
	lines := newRouteLines(names)
	var line []byte
	for _, q := range queries {
		err := k.Routes(q, func(r *netcfg.Route) error {
			if asJSON {
				if !first {
					w.WriteString(",")
				}
				first = false
				return enc.Encode(ui.RouteView{Route: *r, Text: netcfg.RouteString(r), Owned: r.Owned()})
			}
			line = lines.append(line[:0], r)
			_, err := w.Write(append(line, '\n'))
			return err
		})
		if err != nil {
			// Lines already printed cannot be taken back; say loudly that
			// they are not the whole table.
			w.Flush()
			return fmt.Errorf("listing routes stopped part-way, the output above is incomplete: %w", err)
		}
	}
	if asJSON {
		w.WriteString("]\n")
	}
	return nil
}

// showRoutesJSON prints the schema of `show --json` (README) with the
// routes of the tables asked for streamed into its "routes" list, so
// scripts read one shape whatever the flags.
func (a *app) showRoutesJSON(k netcfg.Kernel, names *netcfg.Names, ids []uint32) error {
	s, err := netcfg.Detect(k, *names, netcfg.DetectOptions{RuleTables: true})
	if err != nil {
		return err
	}
	v := ui.BuildShow(s, a.netns)
	w := bufio.NewWriterSize(a.out, 64<<10)
	defer w.Flush()
	w.WriteString("{")
	if v.Netns != "" {
		fmt.Fprintf(w, "\"netns\":%s,", mustJSON(v.Netns))
	}
	fmt.Fprintf(w, "\"nics\":%s,\"tables\":%s,\"rules\":%s,\"warnings\":%s,\"routes\":", mustJSON(v.NICs), mustJSON(v.Tables), mustJSON(v.Rules), mustJSON(v.Warnings))
	if err := w.Flush(); err != nil {
		return err
	}
	if err := a.showRoutes(k, names, ids, true); err != nil {
		return err
	}
	w.WriteString("}\n")
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain data goes through here; a failure is a bug.
		panic(fmt.Sprintf("encode JSON: %v", err))
	}
	return b
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print nictab's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(a.out, "nictab %s (snapshot format %d, routing protocol %d)\n", nictabVersion(), 1, netcfg.ProtoNictab)
			return err
		},
	}
}
