package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"strings"
	"time"
	"unsafe"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// callerSep joins a caller and a callee into the name of the caller's own breaker of the
// callee. A caller name holding it is refused (counted as dropped); the API and the watch
// stream show the two names apart.
const callerSep = statusfeed.CallerSep

var (
	_ breakerfeed.CallerFeeder      = (*breakerExtension)(nil)
	_ breakerfeed.TimedCallerFeeder = (*breakerExtension)(nil)
)

// callerSettings are the per-caller registry's: the fleet's, with room for two names.
func callerSettings(s breaker.Settings) breaker.Settings {
	s.MaxTargetLength = 2*s.MaxTargetLength + len(callerSep)
	return s
}

// RecordCallerOutcome implements breakerfeed.CallerFeeder: one outcome of caller's call to
// target, for caller's own view of target, at the clock's time. A view exists only once the
// caller asked for it (GET /v1/breakers/{target}?caller=), so a fleet whose callers never ask
// pays nothing for views; until then the outcome is not kept.
func (e *breakerExtension) RecordCallerOutcome(caller, target string, o breakerfeed.Outcome) {
	e.recordCaller(caller, target, o, e.callers.Now())
}

// RecordCallerOutcomeAt implements breakerfeed.TimedCallerFeeder: RecordCallerOutcome at now,
// read once by the caller for a whole batch.
func (e *breakerExtension) RecordCallerOutcomeAt(caller, target string, o breakerfeed.Outcome, now time.Time) {
	e.recordCaller(caller, target, o, now.UnixNano())
}

func (e *breakerExtension) recordCaller(caller, target string, o breakerfeed.Outcome, now int64) {
	var buf [keyBuf]byte
	if key, ok := e.callerKey(&buf, caller, target); ok {
		e.callers.RecordKnownOutcomeAt(key, o, now)
	}
}

// keyBuf is the room on the caller's stack for a pair's key; longer keys are allocated.
const keyBuf = 512

// callerKey returns the key of caller's own breaker of target, built in buf (the registry
// copies it when the pair is new); false, counted as dropped, for an invalid pair.
func (e *breakerExtension) callerKey(buf *[keyBuf]byte, caller, target string) (string, bool) {
	if !e.validPair(caller, target) {
		e.callers.CountDropped()
		return "", false
	}
	if n := len(caller) + len(callerSep) + len(target); n <= len(buf) {
		b := append(append(append(buf[:0], caller...), callerSep...), target...)
		return unsafe.String(&b[0], len(b)), true
	}
	return caller + callerSep + target, true
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

// callerStatus is caller's own view of target (decide: a half-open slot is taken). Asking
// creates the view (bounded by max_targets, evicted as any target): from then on the caller's
// CLIENT spans to target feed it.
func (e *breakerExtension) callerStatus(caller, target string, decide bool) breaker.Status {
	key := caller + callerSep + target
	_ = e.callers.Track(key) // refused past a full registry: the view stays unknown (closed)
	st := e.callers.Status(key, decide)
	st.Target, st.Caller = target, caller
	for i := range st.Transitions {
		st.Transitions[i].Caller, st.Transitions[i].Target = splitPair(st.Transitions[i].Target)
	}
	return st
}
