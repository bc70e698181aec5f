package breaker

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
)

// Counts are the numbers behind a decision: the evaluation window's calls and rates, and the
// baseline and thresholds they were compared with.
type Counts struct {
	Calls               uint64  `json:"calls"`
	Failures            uint64  `json:"failures"`
	Timeouts            uint64  `json:"timeouts"`
	Slow                uint64  `json:"slow"`
	ConsecutiveFailures uint64  `json:"consecutive_failures"`
	ConsecutiveNeeded   uint64  `json:"consecutive_failures_threshold"`
	FailureRate         float64 `json:"failure_rate"`
	SlowRate            float64 `json:"slow_rate"`
	BaselineFailureRate float64 `json:"baseline_failure_rate"`
	FailureThreshold    float64 `json:"failure_rate_threshold"`
	BaselineSlowRate    float64 `json:"baseline_slow_rate"`
	SlowRateThreshold   float64 `json:"slow_rate_threshold"`
	SlowThresholdSecs   float64 `json:"slow_threshold_seconds"`
	// Probe is the last active probe's result ("passing" or "failing") when one was recorded
	// within the window: a client may then leave the testing of a recovery to the probe.
	Probe string `json:"probe,omitempty"`
}

// Transition is one change of a target's effective state, with why it happened.
type Transition struct {
	Target string     `json:"target"`
	Caller string     `json:"caller,omitempty"` // set on a caller's own view of Target
	From   string     `json:"from"`
	To     string     `json:"to"`
	At     time.Time  `json:"at"`
	Mode   string     `json:"mode"`
	Reason string     `json:"reason"`
	Class  string     `json:"class,omitempty"`
	Counts Counts     `json:"counts"`
	Retry  *time.Time `json:"retry_at,omitempty"`
}

// events collects the transitions one call caused, to emit once the target's lock is released.
type events struct {
	buf [4]Transition
	n   int
}

func (ev *events) add(t Transition) {
	if ev.n < len(ev.buf) {
		ev.buf[ev.n] = t
		ev.n++
	}
}

// target is one target's breaker. The fields read by decisions are atomics so that a decision
// in the closed state takes no lock; everything else is guarded by mu.
type target struct {
	name     string
	state    atomic.Uint32 // breakerfeed.State of the machine
	mode     atomic.Uint32 // Mode
	retryAt  atomic.Int64  // when open: when half-open may start
	lastSeen atomic.Int64  // for least-recently-seen eviction

	mu          sync.Mutex
	win         window
	base        baseline
	learning    bool // the window looked healthy at the last look: latencies may teach
	consecutive uint64
	// consecutiveNeeded is the run of failures that opens, from the baseline (refreshed as it learns).
	consecutiveNeeded uint64
	opens             int   // consecutive openings, for the backoff
	openedAt          int64 // last time the machine opened
	openedSlow        bool  // the last opening was on slow calls
	closedAt          int64 // last time the machine closed (0: never opened)
	fence             int64 // rate rules ignore buckets before this (set on closing)

	step          int    // half-open ramp step index
	stepStart     int64  // when the step began
	stepSuccesses int    // successes in this step
	stepFailures  uint64 // failures in a row in half-open
	stepAttempts  uint64 // admission requests in this step
	stepAdmitted  uint64 // admissions granted in this step

	// openSuccesses is the run of successes seen while open (calls that went anyway: other
	// callers, trials); openSuccessesNeeded is the run that ends the backoff early.
	openSuccesses       int
	openSuccessesNeeded int
	// leftClosedAt is when the machine last opened or went half-open: outcomes of calls that
	// ended before it are stale for the recovery.
	leftClosedAt int64

	lastProbeAt int64
	lastProbeOK bool

	history   []Transition // ring of the last transitions, at most histLimit
	histLimit int
	histN     int // transitions ever recorded
}

func newTarget(name string, now int64, r *Registry) *target {
	t := &target{
		name:      name,
		win:       newWindow(r.settings.WindowBuckets, r.bucketWidth, now),
		base:      newBaseline(&r.settings),
		histLimit: r.settings.TransitionHistory,
	}
	t.learning = true
	t.consecutiveNeeded = t.base.consecutiveNeeded(&r.settings)
	t.lastSeen.Store(now)
	return t
}

// touch marks the target seen at now. The store is skipped within a millisecond of the last
// one: eviction needs no finer order, and a load shares the cache line where a store would not.
func (t *target) touch(now int64) {
	if now-t.lastSeen.Load() >= int64(time.Millisecond) {
		t.lastSeen.Store(now)
	}
}

func (t *target) machine() breakerfeed.State { return breakerfeed.State(t.state.Load()) }
func (t *target) currentMode() Mode          { return Mode(t.mode.Load()) }
func (t *target) frozen() bool {
	m := t.currentMode()
	return m == ModeForcedOpen || m == ModeForcedClosed
}

// advance brings the target's time-driven state up to now: window rotation (and learning from
// completed buckets), the end of an open backoff, and a half-open step held long enough.
func (t *target) advance(now int64, r *Registry, ev *events) {
	if now >= t.win.start+t.win.width {
		t.win.advance(now, func(c counts, _ int64) { t.completed(c, r) })
		t.refreshHealth(r)
	}
	if t.frozen() {
		return
	}
	switch t.machine() {
	case breakerfeed.Open:
		if now >= t.retryAt.Load() {
			t.toHalfOpen(now, ReasonBackoffElapsed, r, ev)
		}
	case breakerfeed.HalfOpen:
		if t.stepSuccesses > 0 && now-t.stepStart >= int64(r.settings.MaxStepDuration) {
			t.nextStep(now, r, ev)
		}
	}
}

// completed learns from a completed bucket when the machine was closed and healthy.
func (t *target) completed(c counts, r *Registry) {
	if c.calls == 0 || t.machine() != breakerfeed.Closed || t.frozen() || !t.learning {
		return
	}
	t.base.learn(c, r.decay, &r.settings)
	t.consecutiveNeeded = t.base.consecutiveNeeded(&r.settings)
}

// evalCounts returns the counts the rate rules look at: the window since the last closing.
func (t *target) evalCounts() counts { return t.win.since(t.fence) }

// refreshHealth decides whether the window looks healthy enough to learn from: not even mildly
// (one standard deviation) above the thresholds.
func (t *target) refreshHealth(r *Registry) {
	s := &r.settings
	w := t.evalCounts()
	t.learning = wilsonLower(w.failures, w.calls, 1) <= t.base.failureThreshold(s) &&
		wilsonLower(w.slow, w.calls, 1) <= t.base.slowRateThreshold(s)
}

// record adds one outcome and runs the machine on it.
func (t *target) record(now int64, o breakerfeed.Outcome, r *Registry, ev *events) {
	s := &r.settings
	t.advance(now, r, ev)
	failure := o.Class != breakerfeed.Success
	// Compared in integer nanoseconds: a float division per outcome is measurable here.
	thr := t.base.thresholdNanos(s)
	slow := !failure && thr > 0 && int64(o.Latency) > thr
	c := counts{calls: 1}
	if failure {
		c.failures = 1
		if o.Class == breakerfeed.Timeout {
			c.timeouts = 1
		}
		t.consecutive++
	} else {
		t.consecutive = 0
	}
	if slow {
		c.slow = 1
	}
	t.win.record(c)
	if t.frozen() {
		return
	}
	stale := o.End != 0 && o.End < t.leftClosedAt
	switch t.machine() {
	case breakerfeed.Closed:
		if failure || slow {
			t.evaluate(now, o.Class, failure, r, ev)
		} else if t.learning {
			t.base.observeLatency(o.Latency)
		}
	case breakerfeed.Open:
		// The target answers again: a run of successes that the failure rate it opened on
		// makes unlikely ends the backoff, without waiting for retry_at.
		if stale {
			return
		}
		if failure || slow {
			t.openSuccesses = 0
		} else if t.openSuccesses++; t.openSuccesses >= t.openSuccessesNeeded {
			t.toHalfOpen(now, ReasonSuccessesWhileOpen, r, ev)
		}
	case breakerfeed.HalfOpen:
		if stale {
			return // a call from before the half-open: not a test of the recovery
		}
		if failure {
			t.stepFailures++
			if t.stepFailures >= t.base.halfOpenRun(s) {
				t.open(now, ReasonHalfOpenFailure, o.Class.String(), r, ev)
			}
		} else if !slow {
			t.stepFailures = 0
			t.stepSuccess(now, r, ev)
		}
	}
}

// evaluate runs the trip rules after a failure or a slow call in the closed state.
func (t *target) evaluate(now int64, class breakerfeed.Class, failure bool, r *Registry, ev *events) {
	s := &r.settings
	if failure && s.ConsecutiveFailures > 0 && t.consecutive >= t.consecutiveNeeded {
		t.open(now, ReasonConsecutiveFailures, class.String(), r, ev)
		return
	}
	t.refreshHealth(r)
	w := t.evalCounts()
	if w.calls < uint64(s.MinCalls) {
		return
	}
	// Right after a closing the window restarts from the fence, and a pause of a few hundred
	// milliseconds (a GC, a busy host) delays a burst of consecutive calls together: those
	// are not independent outcomes. The rate rules wait one bucket after a closing, so such a
	// burst is weighed against a bucket's worth of calls; the consecutive rule still applies.
	if t.fence > 0 && now-t.fence < t.win.width {
		return
	}
	if failure && wilsonLower(w.failures, w.calls, s.Z) > t.base.failureThreshold(s) {
		cls := breakerfeed.Error.String()
		if 2*w.timeouts > w.failures {
			cls = breakerfeed.Timeout.String()
		}
		t.open(now, ReasonFailureRate, cls, r, ev)
		return
	}
	if !failure && wilsonLower(w.slow, w.calls, s.Z) > t.base.slowRateThreshold(s) {
		t.open(now, ReasonSlowCallRate, classSlow, r, ev)
	}
}

// probe records an active probe's result.
func (t *target) probe(now int64, ok bool, r *Registry, ev *events) {
	t.advance(now, r, ev)
	t.lastProbeAt, t.lastProbeOK = now, ok
	t.test(now, ok, ReasonProbePassed, ReasonProbeFailed, classProbe, r, ev)
}

// trial records the result of a call a client let through to test a recovery (the client
// library's trial and ramp calls): it acts as a probe by a real call.
func (t *target) trial(now int64, ok bool, r *Registry, ev *events) {
	t.advance(now, r, ev)
	t.test(now, ok, ReasonTrialPassed, ReasonTrialFailed, classTrial, r, ev)
}

// test moves an open or half-open machine on a probe's or a trial's result: a pass ends an
// open backoff at once and counts as a success of a half-open step; a failure re-opens a
// half-open machine. A failing probe while open restarts the backoff: the probe has just
// tested what a half-open would, and the next probe's pass ends it. A probe says a service
// answers, not how fast: its pass does not end an opening on slow calls (a trial's does, the
// client judging its latency).
func (t *target) test(now int64, ok bool, passed, failed, class string, r *Registry, ev *events) {
	if t.frozen() {
		return
	}
	if ok && class == classProbe && t.openedSlow {
		return
	}
	switch t.machine() {
	case breakerfeed.Open:
		switch {
		case ok:
			t.toHalfOpen(now, passed, r, ev)
		case class == classProbe:
			t.retryAt.Store(max(t.retryAt.Load(), now+t.backoff(r)))
		}
	case breakerfeed.HalfOpen:
		if ok {
			t.stepSuccess(now, r, ev)
		} else {
			t.open(now, failed, class, r, ev)
		}
	}
}

// admit decides one call in half-open: the step admits ceil(attempts × percent) calls of its
// attempts, so it never admits more than its share and always admits the first call.
func (t *target) admit(now int64, r *Registry, ev *events) bool {
	t.advance(now, r, ev)
	if t.machine() != breakerfeed.HalfOpen {
		return t.machine() == breakerfeed.Closed
	}
	t.stepAttempts++
	allowed := stepAllowance(t.stepAttempts, r.settings.HalfOpenSteps[t.step])
	if t.stepAdmitted < allowed {
		t.stepAdmitted++
		return true
	}
	return false
}

// stepAllowance is how many of attempts a step at percent may admit: ceil(attempts × percent/100).
func stepAllowance(attempts uint64, percent float64) uint64 {
	return uint64(math.Ceil(float64(attempts) * percent / 100))
}

func (t *target) stepSuccess(now int64, r *Registry, ev *events) {
	t.stepSuccesses++
	if t.stepSuccesses >= r.settings.SuccessesPerStep {
		t.nextStep(now, r, ev)
	}
}

func (t *target) nextStep(now int64, r *Registry, ev *events) {
	t.step++
	if t.step >= len(r.settings.HalfOpenSteps) {
		t.close(now, ReasonRampComplete, r, ev)
		return
	}
	t.stepStart, t.stepSuccesses, t.stepAttempts, t.stepAdmitted = now, 0, 0, 0
}

// open moves the machine to open with the backoff of this incident. The backoff grows from one
// incident to the next (an opening from closed), not within one: a re-opening from half-open
// keeps the incident's backoff, so a long outage is retried every few seconds (one admitted
// call each time) and its end is found within one backoff.
func (t *target) open(now int64, reason, class string, r *Registry, ev *events) {
	s := &r.settings
	from := t.machine()
	if from == breakerfeed.Closed {
		if t.closedAt > 0 && s.OpenDecayAfter > 0 {
			healthy := int((now - t.closedAt) / int64(s.OpenDecayAfter))
			t.opens = max(0, t.opens-healthy)
		}
		t.opens = min(t.opens+1, 64)
	}
	t.openSuccesses = 0
	t.openSuccessesNeeded = s.SuccessesPerStep
	if reason == ReasonFailureRate {
		t.openSuccessesNeeded = successesToRecover(t.evalCounts(), s)
	}
	t.retryAt.Store(now + t.backoff(r))
	if from == breakerfeed.Closed {
		t.openedSlow = class == classSlow // for the whole incident
	}
	t.openedAt, t.leftClosedAt = now, now
	t.transition(now, from, breakerfeed.Open, reason, class, r, ev)
}

// backoff is this incident's open duration: initial × multiplier^(n-1) for the n-th
// consecutive incident, capped, with jitter.
func (t *target) backoff(r *Registry) int64 {
	s := &r.settings
	d := float64(s.OpenInitial) * math.Pow(s.OpenMultiplier, float64(max(t.opens, 1)-1))
	d = math.Min(d, float64(s.OpenMax))
	d *= 1 + s.OpenJitter*(2*s.random()-1)
	return int64(math.Min(d, float64(s.OpenMax)))
}

// successesToRecover is the run of successes while open that ends the backoff of a breaker
// opened on its failure rate: at least SuccessesPerStep, and long enough that the window's
// failure rate makes it unlikely by chance ((1-rate)^k <= 5%): 9 at 30% failures, 29 at 10%.
// Other openings (a run of failures, slow calls, probes) need SuccessesPerStep.
func successesToRecover(w counts, s *Settings) int {
	k := s.SuccessesPerStep
	if w.calls == 0 || w.failures >= w.calls {
		return k
	}
	ok := 1 - float64(w.failures)/float64(w.calls)
	return max(k, int(math.Ceil(math.Log(0.05)/math.Log(ok))))
}

func (t *target) toHalfOpen(now int64, reason string, r *Registry, ev *events) {
	from := t.machine()
	t.step, t.stepStart, t.stepSuccesses, t.stepAttempts, t.stepAdmitted = 0, now, 0, 0, 0
	t.stepFailures = 0
	t.leftClosedAt = now
	t.transition(now, from, breakerfeed.HalfOpen, reason, "", r, ev)
}

func (t *target) close(now int64, reason string, r *Registry, ev *events) {
	from := t.machine()
	t.closedAt, t.fence, t.consecutive = now, now, 0
	t.transition(now, from, breakerfeed.Closed, reason, "", r, ev)
	t.refreshHealth(r)
}

// transition sets the machine's state and records why.
func (t *target) transition(now int64, from, to breakerfeed.State, reason, class string, r *Registry, ev *events) {
	counts := t.counts(now, r)
	t.state.Store(uint32(to))
	// In disabled mode the machine still moves (and Mode says it does not block).
	t.remember(now, from.String(), to.String(), reason, class, counts, ev)
}

func (t *target) remember(now int64, from, to, reason, class string, c Counts, ev *events) {
	tr := Transition{
		Target: t.name, From: from, To: to, At: time.Unix(0, now).UTC(),
		Mode: t.currentMode().String(), Reason: reason, Class: class, Counts: c,
	}
	if to == breakerfeed.Open.String() || t.machine() == breakerfeed.Open {
		at := time.Unix(0, t.retryAt.Load()).UTC()
		tr.Retry = &at
	}
	// The ring grows on demand: most targets never transition, and 16 transitions are 4 KiB.
	if limit := t.histLimit; len(t.history) < limit {
		t.history = append(t.history, tr)
	} else {
		t.history[t.histN%limit] = tr
	}
	t.histN++
	ev.add(tr)
}

// setMode applies an override and records it as a transition of the effective state.
func (t *target) setMode(now int64, m Mode, r *Registry, ev *events) {
	t.advance(now, r, ev)
	old := t.currentMode()
	if old == m {
		return
	}
	machine := t.machine()
	t.mode.Store(uint32(m))
	t.remember(now, effective(old, machine), effective(m, machine), ReasonOverride, "", t.counts(now, r), ev)
}

// probeState is the last probe's result when one was recorded within the window ("passing",
// "failing"), else "".
func (t *target) probeState(now int64, r *Registry) string {
	switch {
	case t.lastProbeAt == 0 || now-t.lastProbeAt > int64(r.settings.Window):
		return ""
	case t.lastProbeOK:
		return "passing"
	}
	return "failing"
}

// counts snapshots the numbers behind the machine's decisions.
func (t *target) counts(now int64, r *Registry) Counts {
	s := &r.settings
	w := t.evalCounts()
	return Counts{
		Calls: w.calls, Failures: w.failures, Timeouts: w.timeouts, Slow: w.slow,
		ConsecutiveFailures: t.consecutive,
		ConsecutiveNeeded:   t.consecutiveNeeded,
		FailureRate:         rate(w.failures, w.calls),
		SlowRate:            rate(w.slow, w.calls),
		BaselineFailureRate: t.base.failureRate(s),
		FailureThreshold:    t.base.failureThreshold(s),
		BaselineSlowRate:    t.base.slowRate(s),
		SlowRateThreshold:   t.base.slowRateThreshold(s),
		SlowThresholdSecs:   t.base.threshold(s),
		Probe:               t.probeState(now, r),
	}
}

func rate(k, n uint64) float64 {
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}

// transitions returns the remembered transitions, oldest first.
func (t *target) transitions() []Transition {
	n := len(t.history)
	out := make([]Transition, 0, n)
	for i := t.histN - n; i < t.histN; i++ {
		out = append(out, t.history[i%n])
	}
	return out
}
