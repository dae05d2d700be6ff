package main

import (
	"strconv"

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

// append appends the line of r, without a newline. The fields and their
// order are netcfg.RouteArgs'.
func (l *routeLines) append(b []byte, r *netcfg.Route) []byte {
	if r.Type != netcfg.RouteUnicast && r.Type != netcfg.RouteUnspec {
		b = append(b, r.Type.String()...)
		b = append(b, ' ')
	}
	switch {
	case r.IsDefault():
		b = append(b, "default"...)
	case !r.Dst.IsValid():
		b = append(b, r.Dst.String()...)
	default:
		b = r.Dst.AppendTo(b)
	}
	if r.Tos != 0 {
		const hex = "0123456789abcdef"
		b = append(b, " tos 0x"...)
		b = append(b, hex[r.Tos>>4], hex[r.Tos&0xf])
	}
	if r.Gw.IsValid() {
		b = append(b, " via "...)
		b = r.Gw.AppendTo(b)
	}
	if r.Dev != "" {
		b = append(b, " dev "...)
		b = append(b, l.dev(r.Dev)...)
	}
	b = append(b, " table "...)
	b = append(b, l.table(r.Table)...)
	if r.Proto != netcfg.ProtoUnspec {
		b = append(b, " proto "...)
		b = append(b, l.proto(r.Proto)...)
	}
	fam := r.Family()
	if fam == netcfg.V4 {
		b = append(b, " scope "...)
		b = append(b, r.Scope.String()...)
	}
	if r.Src.IsValid() {
		b = append(b, " src "...)
		b = r.Src.AppendTo(b)
	}
	if r.Metric != 0 || fam == netcfg.V6 {
		b = append(b, " metric "...)
		b = strconv.AppendUint(b, uint64(r.Metric), 10)
	}
	if r.Onlink {
		b = append(b, " onlink"...)
	}
	for _, nh := range r.MultiPath {
		b = append(b, " nexthop"...)
		if nh.Gw.IsValid() {
			b = append(b, " via "...)
			b = nh.Gw.AppendTo(b)
		}
		if nh.Dev != "" {
			b = append(b, " dev "...)
			b = append(b, l.dev(nh.Dev)...)
		}
		b = append(b, " weight "...)
		b = strconv.AppendInt(b, int64(max(nh.Weight, 1)), 10)
		if nh.Onlink {
			b = append(b, " onlink"...)
		}
	}
	return b
}
