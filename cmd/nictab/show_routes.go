package main

import (
	"github.com/nictab/nictab/netcfg"
)

// routeLines writes routes as ui.RouteLine does, into a reused buffer.
//
// NOTE: `show --table` of a full Internet table prints a million lines;
// built from strings, one route at a time, they cost more than the
// kernel's dump and more memory than the 50 MB a router can spare. The
// labels of tables, protocols and devices are few and are kept once.
type routeLines struct {
	names  *netcfg.Names
	tables map[uint32]string
	protos map[uint8]string
	devs   map[string]string
}

func newRouteLines(names *netcfg.Names) *routeLines {
	return &routeLines{names: names, tables: map[uint32]string{}, protos: map[uint8]string{}, devs: map[string]string{}}
}

func (l *routeLines) table(id uint32) string {
	s, ok := l.tables[id]
	if !ok {
		s = l.names.TableLabel(id)
		if n := l.names.TableName(id); n != "" {
			s = netcfg.SafeText(n)
		}
		l.tables[id] = s
	}
	return s
}

func (l *routeLines) proto(p uint8) string {
	s, ok := l.protos[p]
	if !ok {
		s = l.names.ProtoName(p)
		l.protos[p] = s
	}
	return s
}

func (l *routeLines) dev(d string) string {
	s, ok := l.devs[d]
	if !ok {
		s = netcfg.SafeText(d)
		l.devs[d] = s
	}
	return s
}

// append appends the line of r, without a newline.
func (l *routeLines) append(b []byte, r *netcfg.Route) []byte { return netcfg.AppendRoute(b, r, l) }

// Table, Proto and Dev are netcfg.RouteLabels: names, escaped.
func (l *routeLines) Table(b []byte, id uint32) []byte { return append(b, l.table(id)...) }
func (l *routeLines) Proto(b []byte, p uint8) []byte   { return append(b, l.proto(p)...) }
func (l *routeLines) Dev(b []byte, d string) []byte    { return append(b, l.dev(d)...) }
