package netcfg

import (
	"encoding"
	"testing"
)

// textRoundTrip checks that every value of an enum that has a name reads
// back as itself through MarshalText and UnmarshalText, and that a value
// without one is written as its number (after the type's prefix).
func textRoundTrip[T ~uint8, P interface {
	*T
	encoding.TextUnmarshaler
}](t *testing.T, e *enum[T], unnamed T, want string) {
	t.Helper()
	for v, name := range e.names {
		b, err := any(v).(encoding.TextMarshaler).MarshalText()
		if err != nil || string(b) != name {
			t.Errorf("%s %d: marshals to %q, %v; want %q", e.what, v, b, err, name)
		}
		var back T
		if err := P(&back).UnmarshalText(b); err != nil || back != v {
			t.Errorf("%s %q: reads back as %d, %v; want %d", e.what, name, back, err, v)
		}
	}
	if got := e.text(unnamed); got != want {
		t.Errorf("%s %d without a name: %q, want %q", e.what, unnamed, got, want)
	}
	var x T
	if err := P(&x).UnmarshalText([]byte("no such name")); err == nil {
		t.Errorf("%s: an unknown name is accepted", e.what)
	}
}

func TestEnumsRoundTrip(t *testing.T) {
	textRoundTrip[Scope](t, &scopes, 7, "7")
	textRoundTrip[RouteType](t, &routeTypes, 42, "42")
	textRoundTrip[RuleAction](t, &ruleActions, 5, "5")
	textRoundTrip[RoutePref](t, &routePrefs, 2, "2")
	textRoundTrip[GuardStatus](t, &guardStatuses, 0, "guard0")
	textRoundTrip[Verdict](t, &verdicts, 99, "verdict99")
	textRoundTrip[StepResult](t, &stepResults, 0, "step0")
	textRoundTrip[ChangeAction](t, &changeActions, 9, "action9")
}

// TestEnumParseForms: the forms `ip` also accepts, and the errors that say
// what would have been accepted.
func TestEnumParseForms(t *testing.T) {
	for in, want := range map[string]Scope{"universe": ScopeUniverse, "200": 200, "0xfd": ScopeLink, "host": ScopeHost} {
		if got, err := ParseScope(in); err != nil || got != want {
			t.Errorf("ParseScope(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseScope("300"); err == nil || err.Error() != `unknown scope "300" (want global, site, link, host, nowhere or 0–255)` {
		t.Errorf("ParseScope(300): %v", err)
	}
	if _, err := ParseRouteType("7"); err == nil || err.Error() != `unknown route type "7"` {
		t.Errorf("route types are read by name only: %v", err)
	}
	if _, err := ParseRoutePref("urgent"); err == nil || err.Error() != `unknown route preference "urgent" (want low, medium or high)` {
		t.Errorf("ParseRoutePref: %v", err)
	}
}
