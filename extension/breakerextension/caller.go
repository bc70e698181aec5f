package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"strings"
	"unsafe"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// callerSep joins a caller and a callee into the name of the caller's own breaker of the
// callee. A caller name holding it is refused (counted as dropped); the API and the watch
// stream show the two names apart.
const callerSep = statusfeed.CallerSep

var _ breakerfeed.CallerFeeder = (*breakerExtension)(nil)

// callerSettings are the per-caller registry's: the fleet's, with room for two names.
func callerSettings(s breaker.Settings) breaker.Settings {
	s.MaxTargetLength = 2*s.MaxTargetLength + len(callerSep)
	return s
}

// RecordCallerOutcome implements breakerfeed.CallerFeeder: one outcome of caller's call to
// target, for caller's own view of target.
func (e *breakerExtension) RecordCallerOutcome(caller, target string, o breakerfeed.Outcome) {
	if !e.validPair(caller, target) {
		e.callers.CountDropped()
		return
	}
	// The key is built on the stack: the registry copies it when the pair is new.
	var buf [512]byte
	if n := len(caller) + len(callerSep) + len(target); n <= len(buf) {
		b := append(append(append(buf[:0], caller...), callerSep...), target...)
		e.callers.RecordOutcome(unsafe.String(&b[0], len(b)), o)
		return
	}
	e.callers.RecordOutcome(caller+callerSep+target, o)
}

func (e *breakerExtension) validPair(caller, target string) bool {
	max := e.cfg.MaxTargetLength
	return breaker.ValidateTarget(caller, max) == nil && breaker.ValidateTarget(target, max) == nil &&
		!strings.Contains(caller, callerSep)
}

// splitPair returns the caller and the callee of a per-caller breaker's name.
func splitPair(key string) (caller, target string) {
	caller, target, _ = strings.Cut(key, callerSep)
	return caller, target
}

// onCallerTransition publishes a per-caller transition with the caller and the callee apart to
// the status extension, whose watch stream shows it to that caller's watchers. It is not
// counted in vigil_breaker_transitions_total, whose series are per fleet-wide target, and gRPC
// health (fleet-wide only) does not see it.
func (e *breakerExtension) onCallerTransition(tr breaker.Transition) {
	tr.Caller, tr.Target = splitPair(tr.Target)
	if ref := e.status.Load(); ref != nil {
		ref.p.PublishTransition(publicTransition(tr))
	}
}

// callerStatus is caller's own view of target (peek: no half-open slot taken).
func (e *breakerExtension) callerStatus(caller, target string, decide bool) breaker.Status {
	st := e.callers.Status(caller+callerSep+target, decide)
	st.Target, st.Caller = target, caller
	for i := range st.Transitions {
		st.Transitions[i].Caller, st.Transitions[i].Target = splitPair(st.Transitions[i].Target)
	}
	return st
}
