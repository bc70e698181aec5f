// Package breakerfeed defines how other components feed the breaker extension and read its
// decisions. The healthscore processor finds the extension through host.GetExtensions() by the
// ID named in its config and type-asserts it to Feeder:
//
//	ext, ok := host.GetExtensions()[id]
//	feeder, ok := ext.(breakerfeed.Feeder)
//	feeder.RecordOutcome("payments", breakerfeed.Outcome{Class: breakerfeed.Error, Latency: d})
//
// Every method is safe for concurrent use, and RecordOutcome, RecordProbe and Allow do not
// allocate for a target the breaker already knows.
package breakerfeed // import "github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"

import "time"

// Class is how one call to a target ended, as its caller saw it. The breaker derives "slow"
// itself from Latency and the target's learned latency baseline, so a caller reports Success
// for a call that answered, however long it took.
type Class uint8

const (
	// Success is a call that answered without error.
	Success Class = iota
	// Error is a call that failed (an error status, a refused connection, a 5xx).
	Error
	// Timeout is a call that gave up waiting for an answer.
	Timeout
)

// String returns the class's name as the API and the transitions show it.
func (c Class) String() string {
	switch c {
	case Success:
		return "success"
	case Error:
		return "error"
	case Timeout:
		return "timeout"
	default:
		return "unknown"
	}
}

// Outcome is one finished call to a target.
type Outcome struct {
	// Class says whether the call answered, failed or timed out.
	Class Class
	// Latency is how long the call took; 0 when unknown (then it does not teach or test the
	// latency baseline).
	Latency time.Duration
	// End is when the call ended, in Unix nanoseconds (a span's end timestamp); 0 when unknown.
	// Outcomes arrive seconds late (SDKs batch spans): an open or half-open breaker ignores
	// those of calls that ended before it opened or went half-open, which say nothing about a
	// recovery.
	End int64
}

// State is the breaker state of a target, as the breaker.state metric encodes it
// (0 closed, 1 half-open, 2 open).
type State uint8

const (
	// Closed admits every call.
	Closed State = iota
	// HalfOpen admits a ramped share of calls to test whether the target recovered.
	HalfOpen
	// Open refuses calls until the backoff elapses or a probe passes.
	Open
)

// String returns the state's name as the API shows it.
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half_open"
	case Open:
		return "open"
	default:
		return "unknown"
	}
}

// Feeder is what the breaker extension offers other components: outcomes and probe results in,
// decisions and states out.
type Feeder interface {
	// RecordOutcome records one finished call to target. Targets are service names; a name that
	// is empty, too long, not UTF-8 or holds control characters is counted and dropped.
	RecordOutcome(target string, outcome Outcome)
	// RecordProbe records an active probe of target (for example from the healthcheck
	// receiver): a passing probe may move an open breaker to half-open early, a failing one
	// re-opens a half-open breaker.
	RecordProbe(target string, ok bool)
	// Allow reports whether a call to target may go ahead now. In half-open each call to Allow
	// takes one admission slot of the ramp. An unknown target is allowed.
	Allow(target string) bool
	// State returns the breaker state of target and whether the target is known (an unknown
	// target is Closed). Overrides map to the state they act as: forced_open to Open,
	// forced_closed to Closed; in disabled mode it is the state the machine observes, though
	// Allow never blocks.
	State(target string) (State, bool)
	// States calls fn with every known target and its state until fn returns false.
	States(fn func(target string, state State) bool)
}

// TimedFeeder is implemented by a Feeder that takes the time of an outcome from its caller. A
// caller that observes calls in batches (the healthscore processor, once per ConsumeTraces)
// reads the clock once per batch and passes it down, so the breaker neither reads the clock for
// every call (about 100 ns on some virtual machines) nor keeps a clock goroutine ticking while
// the collector is idle. A caller type-asserts for it and falls back to RecordOutcome.
type TimedFeeder interface {
	// RecordOutcomeAt records one finished call to target, observed at now. Times may arrive
	// slightly out of order from concurrent batches; an outcome older than the breaker's current
	// bucket counts in the current one. Safe for concurrent use; does not allocate for a known
	// target.
	RecordOutcomeAt(target string, outcome Outcome, now time.Time)
}

// BatchFeeder is a TimedFeeder that also takes a run of outcomes to one target at once, as a
// batch of spans holds them (a service's SERVER spans): the breaker looks the target up and
// takes its lock once for the run. The outcomes are recorded in order, as that many
// RecordOutcomeAt calls would record them. Safe for concurrent use; does not allocate for a
// known target, and does not keep the slice.
type BatchFeeder interface {
	TimedFeeder
	RecordOutcomesAt(target string, outcomes []Outcome, now time.Time)
}

// CallerFeeder is implemented by a Feeder that also keeps each caller's own view of a callee
// (caller → callee breakers), beside the fleet-wide one RecordOutcome feeds. The healthscore
// processor hands it every CLIENT and PRODUCER span's outcome with the caller's service name
// (the breaker extension keeps those of the views a caller asked for, and drops the rest);
// a caller type-asserts for it, so a Feeder without it still works. Safe for concurrent use;
// it does not allocate for a pair the breaker already knows.
type CallerFeeder interface {
	RecordCallerOutcome(caller, target string, outcome Outcome)
}

// TimedCallerFeeder is to CallerFeeder what TimedFeeder is to Feeder: the caller's outcome
// observed at now, a time read once for a whole batch. Safe for concurrent use; does not
// allocate for a pair the breaker already knows.
type TimedCallerFeeder interface {
	RecordCallerOutcomeAt(caller, target string, outcome Outcome, now time.Time)
}

// The modes a target's breaker is in, as ModeFeeder reports them and breaker.mode carries them.
const (
	// ModeAuto: the state machine decides.
	ModeAuto = "auto"
	// ModeForcedOpen: an operator forced the breaker open.
	ModeForcedOpen = "forced_open"
	// ModeForcedClosed: an operator forced the breaker closed.
	ModeForcedClosed = "forced_closed"
	// ModeDisabled: the machine runs, but nothing is blocked.
	ModeDisabled = "disabled"
)

// ModeFeeder is implemented by a Feeder whose targets can be overridden by an operator. It
// reports each target's state with its mode (ModeAuto, ModeForcedOpen, ModeForcedClosed,
// ModeDisabled), so an override is never mistaken for a learned state. A caller type-asserts
// for it; it is safe for concurrent use.
type ModeFeeder interface {
	// StatesWithMode calls fn with every known target, its state and its mode until fn
	// returns false.
	StatesWithMode(fn func(target string, state State, mode string) bool)
}
