package snapshots

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/nictab/nictab/netcfg"
)

// marshalDesired is json.Marshal(d), byte for byte, with the basic routes
// (see basicJSONRoute) written by hand: a journal's state before holds
// every route nictab owned, and encoding 100k of them by reflection took
// 0.11 s, in the way of a rollback's first write. Every other route goes
// through encoding/json.
func marshalDesired(d netcfg.Desired) ([]byte, error) {
	return appendDesired(nil, d, nil, nil)
}

// appendDesired appends marshalDesired's bytes of d to out. With spill,
// the bytes gathered are handed to it whenever they pass spillAt, and
// out starts again from empty: a digest of a million routes' state need
// not hold its 130 MB (digestDesired). With order, the routes are
// written in that order of their indices.
func appendDesired(out []byte, d netcfg.Desired, spill func([]byte), order []int32) ([]byte, error) {
	if d.Routes == nil {
		b, err := json.Marshal(d)
		return append(out, b...), err
	}
	rest := d
	rest.Routes = nil
	b, err := json.Marshal(rest)
	if err != nil {
		return nil, err
	}
	// The routes go where the copy without them says null. No value
	// before it (the rules: numbers, enum words and quoted, escaped
	// strings) can hold that key unescaped.
	const hole = `"routes":null`
	at := bytes.Index(b, []byte(hole))
	if at < 0 {
		return nil, errors.New("encode the state: no place for its routes")
	}
	at += len(`"routes":`)
	if out == nil && spill == nil {
		out = make([]byte, 0, len(b)+len(d.Routes)*128)
	}
	out = append(out, b[:at]...)
	out = append(out, '[')
	var tx routeTexts
	for i := range d.Routes {
		if i > 0 {
			out = append(out, ',')
		}
		r := &d.Routes[i]
		if order != nil {
			r = &d.Routes[order[i]]
		}
		if tx.of(r) {
			out = appendRouteJSON(out, r, &tx)
		} else {
			rb, err := json.Marshal(r)
			if err != nil {
				return nil, err
			}
			out = append(out, rb...)
		}
		if spill != nil && len(out) >= spillAt {
			spill(out)
			out = out[:0]
		}
	}
	out = append(out, ']')
	return append(out, b[at+len("null"):]...), nil
}

// spillAt is how many bytes appendDesired gathers before it spills them.
const spillAt = 64 << 10

// digestDesired is stateDigest(marshalDesired(d)), with d's routes in
// order when it is given, made without holding the encoding whole.
func digestDesired(d netcfg.Desired, order []int32) (string, error) {
	h := sha256.New()
	out, err := appendDesired(make([]byte, 0, spillAt+4096), d, func(b []byte) { h.Write(b) }, order)
	if err != nil {
		return "", err
	}
	h.Write(out)
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// basicJSONRoute reports whether r has only the fields appendRouteJSON
// writes, and text that encoding/json would write unchanged.
func basicJSONRoute(r *netcfg.Route) bool {
	var tx routeTexts
	return tx.of(r)
}

// NOTE: the names of a route's type and scope are looked up in a map
// (internal/enum), twice each for a route: to know its text is plain
// and to write it. For 100k routes those lookups and the scans of the
// texts were half of the encoding, which the digest of a rollback's
// state before waits for. Routes in a row nearly always share their
// type, scope and device: routeTexts keeps the texts of the last ones,
// and whether they are plain. 100k routes (BenchmarkJournalBefore100k,
// alternated on a busy machine): encoded in 7–13 ms, not 15–23; their
// digest in 12–17 ms, not 20–21.

// routeTexts is the text of the type and scope of the route last seen
// by of, and whether it and its device are plain (plainJSON).
type routeTexts struct {
	seen            bool
	typ             netcfg.RouteType
	scope           netcfg.Scope
	dev             string
	typText         string
	scopeText       string
	plain, plainDev bool
}

// of reports basicJSONRoute(r), keeping the texts of r's type and scope
// for appendRouteJSON.
func (tx *routeTexts) of(r *netcfg.Route) bool {
	if !tx.seen || r.Type != tx.typ || r.Scope != tx.scope {
		tx.seen, tx.typ, tx.scope = true, r.Type, r.Scope
		tx.typText, tx.scopeText = r.Type.String(), r.Scope.String()
		tx.plain = plainJSON(tx.typText) && plainJSON(tx.scopeText)
		tx.dev, tx.plainDev = r.Dev, plainJSON(r.Dev)
	} else if r.Dev != tx.dev {
		tx.dev, tx.plainDev = r.Dev, plainJSON(r.Dev)
	}
	return tx.plain && tx.plainDev && len(r.MultiPath) == 0 && !r.From.IsValid() && r.NHID == 0 && r.Metrics == nil &&
		r.Pref == 0 && r.Realms == 0 && r.Expires == 0 && r.Encap == nil && !r.Dead && !r.LinkDown &&
		len(r.Unmodelled) == 0 && r.Dst.Addr().Zone() == "" && r.Gw.Zone() == "" && r.Src.Zone() == ""
}

// plainJSON reports whether encoding/json writes s between quotes as it
// is: printable ASCII without the characters it escapes.
func plainJSON(s string) bool {
	for i := range len(s) {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendRouteJSON appends a basic route as encoding/json writes it, in
// the order and with the omissions of Route's field tags; tx holds the
// texts of its type and scope (routeTexts.of).
func appendRouteJSON(b []byte, r *netcfg.Route, tx *routeTexts) []byte {
	b = append(b, `{"table":`...)
	b = strconv.AppendUint(b, uint64(r.Table), 10)
	b = append(b, `,"type":"`...)
	b = append(b, tx.typText...)
	b = append(b, `","dst":"`...)
	b = r.Dst.AppendTo(b)
	b = append(b, '"')
	if r.Gw.IsValid() {
		b = append(b, `,"gateway":"`...)
		b = r.Gw.AppendTo(b)
		b = append(b, '"')
	}
	if r.Dev != "" {
		b = append(b, `,"dev":"`...)
		b = append(b, r.Dev...)
		b = append(b, '"')
	}
	if r.Src.IsValid() {
		b = append(b, `,"prefsrc":"`...)
		b = r.Src.AppendTo(b)
		b = append(b, '"')
	}
	b = append(b, `,"scope":"`...)
	b = append(b, tx.scopeText...)
	b = append(b, `","protocol":`...)
	b = strconv.AppendUint(b, uint64(r.Proto), 10)
	b = append(b, `,"metric":`...)
	b = strconv.AppendUint(b, uint64(r.Metric), 10)
	if r.Tos != 0 {
		b = append(b, `,"tos":`...)
		b = strconv.AppendUint(b, uint64(r.Tos), 10)
	}
	if r.Onlink {
		b = append(b, `,"onlink":true`...)
	}
	return append(b, '}')
}
