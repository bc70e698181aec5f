// Package breakerfeedtest holds what the test breakers of breakerfeed's readers share.
package breakerfeedtest

import "github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"

// StatesWithMode is a fixed breaker's breakerfeed.ModeFeeder: it calls fn with every target of
// states, its state and its mode in modes (ModeAuto where modes has none), until fn returns
// false.
func StatesWithMode(states map[string]breakerfeed.State, modes map[string]string, fn func(string, breakerfeed.State, string) bool) {
	for t, s := range states {
		mode := modes[t]
		if mode == "" {
			mode = breakerfeed.ModeAuto
		}
		if !fn(t, s, mode) {
			return
		}
	}
}
