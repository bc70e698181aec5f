// Package breaker holds Vigil's adaptive circuit breakers: one state machine per target, fed
// with call outcomes and probe results, trip rules relative to each target's learned baseline,
// backoff, a ramped half-open, operator overrides, and a bounded registry of targets
// (internal/registry) with least-recently-seen eviction that spares overridden and open targets. Time comes from a Clock, so every timed behaviour is tested on
// a fake one; no goroutine runs per target.
package breaker

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"

	"github.com/vigil-collector/vigil/internal/registry"
)

// Errors of target names.
var (
	ErrEmptyTarget   = errors.New("target name is empty")
	ErrTargetTooLong = errors.New("target name is too long")
	ErrTargetInvalid = errors.New("target name is not UTF-8 or holds control or bidirectional-control characters")
	ErrTargetBlank   = errors.New(`target name is blank (only spaces) or a dot segment ("." or "..")`)
	// ErrTargetsFull: max_targets are tracked and every one is overridden or not closed.
	ErrTargetsFull = errors.New("max_targets reached and every target is overridden or not closed")
)

// Registry holds the breakers of every target. It is safe for concurrent use; recording an
// outcome for a known target locks only that target, and a decision in the closed state locks
// nothing.
type Registry struct {
	settings     Settings
	clock        Clock
	decay        float64 // baseline decay per learned bucket
	bucketWidth  int64
	onTransition func(Transition)

	targets *registry.Registry[*target]
	prior   baseline // what an unknown target is assumed to be, for its status

	dropped atomic.Uint64 // outcomes and probes with an invalid target name
}

var (
	_ breakerfeed.Feeder      = (*Registry)(nil)
	_ breakerfeed.TimedFeeder = (*Registry)(nil)
)

// New returns a registry. onTransition, if not nil, is called after every transition, outside
// any lock; it must not block.
func New(s Settings, clock Clock, onTransition func(Transition)) *Registry {
	width := int64(s.Window) / int64(s.WindowBuckets)
	return &Registry{
		settings:     s,
		clock:        clock,
		bucketWidth:  width,
		decay:        math.Exp2(-float64(width) / float64(s.BaselineHalfLife)),
		onTransition: onTransition,
		targets: registry.New(registry.Options[*target]{
			Cap:           s.MaxTargets,
			MaxNameLength: s.MaxTargetLength,
			Seen:          func(t *target) int64 { return t.lastSeen.Load() },
			Pinned:        pinned,
		}),
		prior: newBaseline(&s),
	}
}

// pinned: eviction never forgets an operator's override, nor a breaker that is not closed
// (forgetting it would let traffic through to a target it protects).
func pinned(t *target) bool {
	return t.currentMode() != ModeAuto || t.machine() != breakerfeed.Closed
}

// ValidateTarget checks a target name with the registry's name rule: non-empty, at most maxLen
// bytes, UTF-8 without control characters.
func ValidateTarget(name string, maxLen int) error {
	switch registry.CheckName(name, maxLen) {
	case registry.NameEmpty:
		return ErrEmptyTarget
	case registry.NameTooLong:
		return fmt.Errorf("%w (%d bytes, at most %d)", ErrTargetTooLong, len(name), maxLen)
	case registry.NameInvalid:
		return ErrTargetInvalid
	case registry.NameBlank:
		return ErrTargetBlank
	}
	return nil
}

func (r *Registry) lookup(name string) *target {
	t, _ := r.targets.Load(name) // nil when absent
	return t
}

// get returns the target named name, creating it (and evicting past the cap) when new.
func (r *Registry) get(name string, now int64) (*target, error) {
	if t := r.lookup(name); t != nil {
		return t, nil
	}
	// The registry hands over its own copy of the name: the caller's string may alias a buffer
	// it reuses (pdata attributes).
	t, err := r.targets.Get(name, func(key string) *target { return newTarget(key, now, r) })
	switch err {
	case nil:
		return t, nil
	case registry.ErrFull:
		return nil, ErrTargetsFull
	}
	return nil, ValidateTarget(name, r.settings.MaxTargetLength)
}

func (r *Registry) emit(ev *events) {
	if ev.n == 0 || r.onTransition == nil {
		return
	}
	for i := 0; i < ev.n; i++ {
		r.onTransition(ev.buf[i])
	}
}

// seen returns the target named name, created when new and marked seen at now; nil, counted as
// dropped, when the name is refused.
func (r *Registry) seen(name string, now int64) *target {
	t, err := r.get(name, now)
	if err != nil {
		r.dropped.Add(1)
		return nil
	}
	t.touch(now)
	return t
}

// RecordOutcome records one finished call to target, at the clock's time.
func (r *Registry) RecordOutcome(target string, o breakerfeed.Outcome) {
	r.record(target, o, r.clock.Now())
}

// RecordOutcomeAt records one finished call to target observed at now, a time the caller read
// once for a whole batch of outcomes.
func (r *Registry) RecordOutcomeAt(target string, o breakerfeed.Outcome, now time.Time) {
	r.record(target, o, now.UnixNano())
}

func (r *Registry) record(target string, o breakerfeed.Outcome, now int64) {
	if t := r.seen(target, now); t != nil {
		r.feed(t, now, feedOutcome, o, false)
	}
}

// RecordOutcomesAt records finished calls to target, in order, all observed at now: one lookup
// and one hold of the target's lock for the lot. The machine sees them as it would one
// RecordOutcomeAt each; its transitions are emitted as they fill the events buffer and at the
// end.
func (r *Registry) RecordOutcomesAt(target string, os []breakerfeed.Outcome, now time.Time) {
	if len(os) == 0 {
		return
	}
	ns := now.UnixNano()
	t := r.seen(target, ns)
	if t == nil {
		r.dropped.Add(uint64(len(os)) - 1) // seen counted one
		return
	}
	var ev events
	t.mu.Lock()
	for i := range os {
		if ev.n == len(ev.buf) {
			t.mu.Unlock()
			r.emit(&ev)
			ev.n = 0
			t.mu.Lock()
		}
		t.record(ns, os[i], r, &ev)
	}
	t.mu.Unlock()
	r.emit(&ev)
}

// RecordKnownOutcomeAt records one finished call to target observed at now, if target is
// known; an unknown target is not created (for breakers that exist only once asked for).
func (r *Registry) RecordKnownOutcomeAt(target string, o breakerfeed.Outcome, now int64) {
	if t := r.lookup(target); t != nil {
		t.touch(now)
		r.feed(t, now, feedOutcome, o, false)
	}
}

// What one feed brings a target.
const (
	feedOutcome = iota // a call's outcome
	feedProbe          // an active probe's result
	feedTrial          // a client's trial call's result
)

// feed runs the target's machine on one outcome, probe or trial under its lock, and emits the
// transitions it caused once the lock is released.
func (r *Registry) feed(t *target, now int64, what int, o breakerfeed.Outcome, ok bool) {
	var ev events
	t.mu.Lock()
	switch what {
	case feedOutcome:
		t.record(now, o, r, &ev)
	case feedProbe:
		t.probe(now, ok, r, &ev)
	case feedTrial:
		t.trial(now, ok, r, &ev)
	}
	t.mu.Unlock()
	r.emit(&ev)
}

// Track creates target's breaker if it is not known yet (evicting past the cap).
func (r *Registry) Track(target string) error {
	t, err := r.get(target, r.clock.Now())
	if err == nil {
		t.touch(r.clock.Now())
	}
	return err
}

// Now is the registry's clock, in Unix nanoseconds.
func (r *Registry) Now() int64 { return r.clock.Now() }

// RecordProbe records an active probe of target.
func (r *Registry) RecordProbe(target string, ok bool) {
	now := r.clock.Now()
	if t := r.seen(target, now); t != nil {
		r.feed(t, now, feedProbe, breakerfeed.Outcome{}, ok)
	}
}

// RecordTrial records the result of a client's trial call to target (a call it let through to
// test a recovery). An unknown target is not created: there is nothing to recover.
func (r *Registry) RecordTrial(target string, ok bool) bool {
	t := r.lookup(target)
	if t == nil {
		return false
	}
	now := r.clock.Now()
	t.touch(now)
	r.feed(t, now, feedTrial, breakerfeed.Outcome{}, ok)
	return true
}

// Allow decides whether a call to target may go ahead now. In half-open it takes one
// admission slot of the ramp. An unknown target is allowed and stays unknown.
func (r *Registry) Allow(target string) bool {
	t := r.lookup(target)
	if t == nil {
		return true
	}
	return r.decide(t, true)
}

// decide is the decision for a known target; take says whether a half-open admission slot is
// taken (a real decision) or only looked at.
func (r *Registry) decide(t *target, take bool) bool {
	switch t.currentMode() {
	case ModeForcedOpen:
		return false
	case ModeForcedClosed, ModeDisabled:
		return true
	}
	if t.machine() == breakerfeed.Closed {
		return true
	}
	now := r.clock.Now()
	if t.machine() == breakerfeed.Open && now < t.retryAt.Load() {
		return false
	}
	var ev events
	t.mu.Lock()
	var ok bool
	if take {
		ok = t.admit(now, r, &ev)
	} else {
		t.advance(now, r, &ev)
		ok = t.machine() == breakerfeed.Closed ||
			(t.machine() == breakerfeed.HalfOpen && t.stepAdmitted < stepAllowance(t.stepAttempts+1, r.settings.HalfOpenSteps[t.step]))
	}
	t.mu.Unlock()
	if ev.n > 0 {
		r.emit(&ev)
	}
	return ok
}

// State returns the state target acts in: forced_open as Open, forced_closed as Closed, and in
// disabled mode the state the machine observes (it never blocks). Unknown targets are Closed.
func (r *Registry) State(target string) (breakerfeed.State, bool) {
	t := r.lookup(target)
	if t == nil {
		return breakerfeed.Closed, false
	}
	return actingState(t), true
}

func actingState(t *target) breakerfeed.State {
	switch t.currentMode() {
	case ModeForcedOpen:
		return breakerfeed.Open
	case ModeForcedClosed:
		return breakerfeed.Closed
	}
	return t.machine()
}

// Mode returns target's override mode (ModeAuto for an unknown target).
func (r *Registry) Mode(target string) Mode {
	if t := r.lookup(target); t != nil {
		return t.currentMode()
	}
	return ModeAuto
}

// States calls fn with every known target and its state until fn returns false.
func (r *Registry) States(fn func(target string, state breakerfeed.State) bool) {
	for name, t := range r.targets.All() {
		if !fn(name, actingState(t)) {
			return
		}
	}
}

// StatesWithMode calls fn with every known target, its state and its mode's name until fn
// returns false.
func (r *Registry) StatesWithMode(fn func(target string, state breakerfeed.State, mode string) bool) {
	for name, t := range r.targets.All() {
		if !fn(name, actingState(t), t.currentMode().String()) {
			return
		}
	}
}

// SetMode applies an operator override to target (creating it when unknown) and returns its
// status.
func (r *Registry) SetMode(target string, m Mode) (Status, error) {
	now := r.clock.Now()
	t, err := r.get(target, now)
	if err != nil {
		return Status{}, err
	}
	var ev events
	t.mu.Lock()
	t.setMode(now, m, r, &ev)
	t.mu.Unlock()
	r.emit(&ev)
	st := r.status(t, false)
	st.Allow = r.decide(t, false)
	return st, nil
}

// Len returns how many targets are tracked.
func (r *Registry) Len() int { return r.targets.Len() }

// CountDropped counts one outcome dropped before it reached the registry (an invalid name found
// by the caller).
func (r *Registry) CountDropped() { r.dropped.Add(1) }

// Dropped returns how many outcomes and probes were dropped for an invalid target name.
func (r *Registry) Dropped() uint64 { return r.dropped.Load() }

// Evicted returns how many targets were evicted to stay within MaxTargets.
func (r *Registry) Evicted() uint64 { return r.targets.Evicted() }

// Settings returns the registry's settings.
func (r *Registry) Settings() Settings { return r.settings }

// Status of one target, as the API serves it.
type Status struct {
	Target       string       `json:"target"`
	Caller       string       `json:"caller,omitempty"` // set on a caller's own view of Target
	Known        bool         `json:"known"`
	State        string       `json:"state"`
	MachineState string       `json:"machine_state"`
	Mode         string       `json:"mode"`
	Allow        bool         `json:"allow"`
	Reason       string       `json:"reason"`
	FailureRate  float64      `json:"failure_rate"`
	SlowRate     float64      `json:"slow_rate"`
	Calls        uint64       `json:"calls"`
	Counts       Counts       `json:"counts"`
	Baseline     Baseline     `json:"baseline"`
	Thresholds   Thresholds   `json:"thresholds"`
	HalfOpen     *HalfOpen    `json:"half_open,omitempty"`
	OpenedAt     *time.Time   `json:"opened_at"`
	RetryAt      *time.Time   `json:"retry_at"`
	LastProbe    *Probe       `json:"last_probe,omitempty"`
	Transitions  []Transition `json:"transitions"`
}

// Baseline is what a target has learned to be normal.
type Baseline struct {
	FailureRate    float64 `json:"failure_rate"`
	SlowRate       float64 `json:"slow_rate"`
	LatencyP50Secs float64 `json:"latency_p50_seconds"`
	LatencyP95Secs float64 `json:"latency_p95_seconds"`
	LatencyP99Secs float64 `json:"latency_p99_seconds"`
	LearnedCalls   uint64  `json:"learned_calls"`
	Learning       bool    `json:"learning"`
}

// Thresholds are what the window is compared with.
type Thresholds struct {
	ConsecutiveFailures int     `json:"consecutive_failures"`
	FailureRate         float64 `json:"failure_rate"`
	SlowRate            float64 `json:"slow_rate"`
	SlowCallSecs        float64 `json:"slow_call_seconds"`
	MinCalls            int     `json:"min_calls"`
	Z                   float64 `json:"z"`
	WindowSecs          float64 `json:"window_seconds"`
}

// HalfOpen is the ramp's progress.
type HalfOpen struct {
	Step      int     `json:"step"`
	Percent   float64 `json:"percent"`
	Successes int     `json:"successes"`
	Attempts  uint64  `json:"attempts"`
	Admitted  uint64  `json:"admitted"`
}

// Probe is the last probe result.
type Probe struct {
	At time.Time `json:"at"`
	OK bool      `json:"ok"`
}

// Status returns target's status. decide says whether its allow field is a decision (taking a
// half-open admission slot) or a look. An unknown target is closed, allowed and not known:
// callers must not fail closed on a new service.
func (r *Registry) Status(target string, decide bool) Status {
	t := r.lookup(target)
	if t == nil {
		return r.unknown(target)
	}
	allow := r.decide(t, decide)
	st := r.status(t, true)
	st.Allow = allow
	return st
}

func (r *Registry) unknown(target string) Status {
	s := &r.settings
	b := &r.prior
	return Status{
		Target: target, State: breakerfeed.Closed.String(), MachineState: breakerfeed.Closed.String(),
		Mode: ModeAuto.String(), Allow: true, Reason: "unknown_target",
		Baseline:    Baseline{FailureRate: b.failureRate(s), SlowRate: b.slowRate(s), Learning: true},
		Thresholds:  r.thresholds(b),
		Transitions: []Transition{},
	}
}

func (r *Registry) thresholds(b *baseline) Thresholds {
	s := &r.settings
	return Thresholds{
		ConsecutiveFailures: int(b.consecutiveNeeded(s)),
		FailureRate:         b.failureThreshold(s),
		SlowRate:            b.slowRateThreshold(s),
		SlowCallSecs:        b.threshold(s),
		MinCalls:            s.MinCalls,
		Z:                   s.Z,
		WindowSecs:          s.Window.Seconds(),
	}
}

// List returns the status of every target, sorted by name; no half-open slot is taken.
func (r *Registry) List() []Status {
	out := make([]Status, 0, r.targets.Len())
	for _, t := range r.targets.All() {
		st := r.status(t, true)
		st.Allow = r.decide(t, false)
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Status) int { return cmp.Compare(a.Target, b.Target) })
	return out
}

func (r *Registry) status(t *target, withAdvance bool) Status {
	now := r.clock.Now()
	var ev events
	t.mu.Lock()
	if withAdvance {
		t.advance(now, r, &ev)
	}
	c := t.counts(now, r)
	m := t.currentMode()
	machine := t.machine()
	st := Status{
		Target: t.name, Known: true,
		State: effective(m, machine), MachineState: machine.String(), Mode: m.String(),
		Allow:       m != ModeForcedOpen && machine != breakerfeed.Open,
		FailureRate: c.FailureRate, SlowRate: c.SlowRate, Calls: c.Calls, Counts: c,
		Baseline: Baseline{
			FailureRate:    c.BaselineFailureRate,
			SlowRate:       c.BaselineSlowRate,
			LatencyP50Secs: t.base.quantile(0.5),
			LatencyP95Secs: t.base.quantile(0.95),
			LatencyP99Secs: t.base.quantile(0.99),
			LearnedCalls:   t.base.learnedCalls,
			Learning:       t.learning && machine == breakerfeed.Closed && (m == ModeAuto || m == ModeDisabled),
		},
		Thresholds:  r.thresholds(&t.base),
		Transitions: t.transitions(),
		Reason:      "no_transition",
	}
	if len(st.Transitions) > 0 {
		st.Reason = st.Transitions[len(st.Transitions)-1].Reason
	}
	if t.openedAt > 0 {
		at := time.Unix(0, t.openedAt).UTC()
		st.OpenedAt = &at
	}
	if machine == breakerfeed.Open {
		at := time.Unix(0, t.retryAt.Load()).UTC()
		st.RetryAt = &at
	}
	if machine == breakerfeed.HalfOpen {
		st.HalfOpen = &HalfOpen{
			Step: t.step + 1, Percent: r.settings.HalfOpenSteps[t.step], Successes: t.stepSuccesses,
			Attempts: t.stepAttempts, Admitted: t.stepAdmitted,
		}
	}
	if t.lastProbeAt > 0 {
		st.LastProbe = &Probe{At: time.Unix(0, t.lastProbeAt).UTC(), OK: t.lastProbeOK}
	}
	t.mu.Unlock()
	if ev.n > 0 {
		r.emit(&ev)
	}
	return st
}
