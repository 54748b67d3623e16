package inbox

import (
	"testing"

	"github.com/tongdao/hub/inbox/store"
)

// A customer's message waits for a next response once the first response
// was given, unless a response is awaited already.
func TestAwaitsNextResponse(t *testing.T) {
	for _, c := range []struct {
		name   string
		clocks []store.ClockState
		want   bool
	}{
		{"no clocks (no policy when it opened)", nil, false},
		{"first response awaited", []store.ClockState{{Kind: "first_response", Running: true}}, false},
		{"first response given", []store.ClockState{{Kind: "first_response"}}, true},
		{"next response awaited", []store.ClockState{{Kind: "first_response"}, {Kind: "next_response", Running: true}}, false},
		{"next response given", []store.ClockState{{Kind: "next_response"}, {Kind: "first_response"}}, true},
		{"only a next response clock, stopped", []store.ClockState{{Kind: "next_response"}}, false},
	} {
		if got := awaitsNextResponse(c.clocks); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
