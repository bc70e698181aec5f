package vigilbreaker

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// State is a target's breaker state as this client acts on it.
type State uint8

const (
	// Closed admits every call.
	Closed State = iota
	// HalfOpen admits a ramped share of calls to test a recovery.
	HalfOpen
	// Open refuses calls, except a trial now and then.
	Open
)

// String returns the state's name as the wire contract spells it.
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

// mode is an operator's override as Vigil reports it.
type mode uint8

const (
	modeAuto mode = iota
	modeForcedOpen
	modeForcedClosed
	modeDisabled
)

func parseMode(s string) (mode, bool) {
	switch s {
	case "auto", "":
		return modeAuto, true
	case "forced_open":
		return modeForcedOpen, true
	case "forced_closed":
		return modeForcedClosed, true
	case "disabled":
		return modeDisabled, true
	}
	return modeAuto, false
}

// permitKind says what a permit was granted as, so Done knows which machine it feeds.
type permitKind uint8

const (
	kindNormal permitKind = iota // the gate was open: nothing but the failure run to track
	kindTrial                    // the one call let through an open breaker
	kindRamp                     // a call admitted by the half-open ramp
	kindFree                     // not tracked (unknown target past the cap, forced_closed)
)

// remoteView is Vigil's latest verdict on a target, and this client's progress through it.
type remoteView struct {
	state   State
	mode    mode
	version int64 // wall-clock nanoseconds of the transition or status it came from
	// retryAt is when Vigil lets a half-open start (monotonic nanoseconds of this client).
	retryAt int64
	// slowNanos is Vigil's slow-call threshold: a trial slower than this has not passed.
	slowNanos int64
	// answering says the verdict came from evidence that the target answers again (a
	// half-open on successes while open, a passing probe or trial, a closing).
	answering bool
	// probeDown says the verdict is open and Vigil's active probe of the target fails.
	probeDown bool
}

// entry is one target's state in this client. The fields Allow reads on the fast path are
// atomics; everything else is guarded by mu.
type entry struct {
	name   string
	client *Client
	// gate is 0 when every call may go ahead (local and remote closed, no override that
	// refuses): Allow then takes no lock and reads no clock.
	gate atomic.Uint32
	// failures is the current run of failed calls, counted without a lock in the closed state;
	// runStart is when the first of them started.
	failures atomic.Uint32
	runStart atomic.Int64
	// needed is the run of failures that opens the local fast path, from the learned rate.
	needed atomic.Uint32
	// slowRun, slowRunStart and slowNeeded are the same for slow calls: successes slower than
	// slowNanos, the threshold learned from this client's own latencies (0 until learned).
	slowRun      atomic.Uint32
	slowRunStart atomic.Int64
	slowNeeded   atomic.Uint32
	slowNanos    atomic.Int64
	// calls, fails and slows count outcomes since the last learning tick; lat their latencies.
	calls, fails, slows atomic.Uint64
	lat                 latencies

	mu sync.Mutex
	// local is the fast path on this application's own outcomes.
	local      State
	localSlow  bool  // the local fast path opened on slow calls
	localOpens int   // consecutive local openings, for the backoff
	nextTrial  int64 // when open: when the next trial may go
	trialUntil int64 // a trial is in flight until it reports or this passes
	// remote is Vigil's verdict; rampStep/rampAttempts/rampAdmitted/rampSuccesses are this
	// client's progress through a half-open ramp.
	// fleet and mine are the latest fleet-wide verdict and this caller's own view; remote is
	// what the client acts on: the stricter of the two (an override is fleet-wide), with this
	// client's own recovery progress on top.
	fleet, mine   remoteView
	remote        remoteView
	recovered     bool // this client walked a ramp to the end since Vigil's last open
	rampStep      int
	rampStart     int64
	rampAttempts  uint64
	rampAdmitted  uint64
	rampSuccesses int
	rampFailures  int // failed ramp calls in a row
	// lastLocalOpen is the wall-clock time of the last local opening, so an older remote
	// "closed" does not close it.
	lastLocalOpen int64
	// learnedFails and learnedCalls are the decayed counts behind the learned failure rate;
	// opensAtTick is localOpens-ever at the last tick, so a tick with an opening is not learned.
	learnedFails, learnedCalls float64
	opensEver, opensAtTick     uint64
	// learnedSlow and learnedSlowCalls are the decayed counts behind the learned slow rate.
	learnedSlow, learnedSlowCalls float64
}

// learn folds the outcomes since the last tick into the learned failure rate, slow rate and
// latencies, unless the target was not closed throughout or the tick looks like an incident
// (failures or slow calls significantly above what was learned) rather than noise.
func (e *entry) learn(decay float64, c *Client) {
	calls, fails, slows := e.calls.Swap(0), e.fails.Swap(0), e.slows.Swap(0)
	e.mu.Lock()
	defer e.mu.Unlock()
	opened := e.opensEver != e.opensAtTick
	e.opensAtTick = e.opensEver
	rate := e.learnedFails / e.learnedCalls
	slowRate := e.learnedSlow / e.learnedSlowCalls
	ok := calls > 0 && !opened && e.effective(c.stale.Load()) == Closed &&
		wilsonLower(fails, calls, 3) <= rate+max(0.05, 0.5*rate) &&
		wilsonLower(slows, calls-fails, 3) <= slowRate+max(0.05, 0.5*slowRate)
	e.lat.fold(decay, ok)
	if !ok {
		return
	}
	e.learnedFails = e.learnedFails*decay + float64(fails)
	e.learnedCalls = e.learnedCalls*decay + float64(calls)
	e.needed.Store(uint32(neededRun(c.cfg.ConsecutiveFailures, e.learnedFails/e.learnedCalls)))
	if e.slowNanos.Load() > 0 {
		e.learnedSlow = e.learnedSlow*decay + float64(slows)
		e.learnedSlowCalls = e.learnedSlowCalls*decay + float64(calls-fails)
	}
	e.slowNanos.Store(e.lat.threshold())
	e.slowNeeded.Store(uint32(neededRun(c.cfg.ConsecutiveFailures, e.learnedSlow/e.learnedSlowCalls)))
}

// wilsonLower is the lower bound of the Wilson score interval of k successes in n trials at z.
func wilsonLower(k, n uint64, z float64) float64 {
	if n == 0 {
		return 0
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	centre := p + z2/(2*nf)
	margin := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return max(0, (centre-margin)/(1+z2/nf))
}

// effective is the state the entry acts in. It must be called with mu held.
func (e *entry) effective(stale bool) State {
	r := e.remote
	if stale {
		r = remoteView{}
	}
	switch r.mode {
	case modeForcedOpen:
		return Open
	case modeForcedClosed:
		return Closed
	}
	if e.local == Open {
		return Open
	}
	if r.mode == modeDisabled {
		return Closed
	}
	return r.state
}

// refreshGate recomputes the lock-free gate. It must be called with mu held.
func (e *entry) refreshGate(stale bool) {
	var g uint32
	if e.effective(stale) != Closed {
		g = 1
	}
	e.gate.Store(g)
}

// decide is the slow path of Allow: something is open, half-open or overridden.
func (c *Client) decide(e *entry) (permitKind, bool) {
	now := c.now()
	stale := c.stale.Load()
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.remote
	if stale {
		r = remoteView{}
	}
	switch r.mode {
	case modeForcedOpen:
		return kindNormal, false
	case modeForcedClosed:
		return kindFree, true
	}
	if e.local == Open {
		return e.trial(now, c)
	}
	if r.mode == modeDisabled {
		return kindNormal, true
	}
	switch r.state {
	case Open:
		if now >= r.retryAt {
			e.startRamp(now, stale, c)
			return e.ramp(now, c)
		}
		return e.trial(now, c)
	case HalfOpen:
		return e.ramp(now, c)
	}
	return kindNormal, true
}

// trial lets one call through an open breaker when its time has come and no other trial is
// out.
func (e *entry) trial(now int64, c *Client) (permitKind, bool) {
	if now < e.nextTrial || now < e.trialUntil {
		return kindNormal, false
	}
	e.trialUntil = now + int64(c.cfg.TrialTimeout)
	return kindTrial, true
}

// ramp admits ceil(attempts × percent) of the decisions asked in the current step.
func (e *entry) ramp(now int64, c *Client) (permitKind, bool) {
	steps := c.cfg.HalfOpenSteps
	if e.rampSuccesses > 0 && now-e.rampStart >= int64(c.cfg.MaxStepDuration) {
		e.nextStep(now, c)
		if e.remote.state == Closed {
			return kindNormal, true
		}
	}
	e.rampAttempts++
	allowed := uint64(math.Ceil(float64(e.rampAttempts) * steps[e.rampStep] / 100))
	if e.rampAdmitted < allowed {
		e.rampAdmitted++
		return kindRamp, true
	}
	return kindNormal, false
}

// rampRun is the run of failed ramp calls that re-opens: the smallest k >= 1 with
// rate^k <= 0.1% at the learned failure rate (1 below 0.1%, 2 at 1%, 3 at 10%, 5 at 20%).
// It must be called with mu held.
func (e *entry) rampRun() int {
	rate := e.learnedFails / e.learnedCalls
	if rate <= 0.001 {
		return 1
	}
	return min(int(math.Ceil(math.Log(0.001)/math.Log(rate))), maxRun)
}

func (e *entry) startRamp(now int64, stale bool, c *Client) {
	if !stale {
		e.remote.state = HalfOpen
	}
	e.rampStep, e.rampStart, e.rampAttempts, e.rampAdmitted, e.rampSuccesses = 0, now, 0, 0, 0
	e.rampFailures = 0
	e.refreshGate(stale)
}

func (e *entry) nextStep(now int64, c *Client) {
	e.rampStep++
	if e.rampStep >= len(c.cfg.HalfOpenSteps) {
		// The ramp is complete: this client acts closed until Vigil opens again.
		e.remote.state = Closed
		e.recovered = true
		e.refreshGate(c.stale.Load())
		c.stats.rampsCompleted.Add(1)
		return
	}
	e.rampStart, e.rampAttempts, e.rampAdmitted, e.rampSuccesses = now, 0, 0, 0
}

// done is the slow path of Done: a trial or ramp outcome, or a run of failures or of slow
// calls reaching the local threshold.
func (c *Client) done(e *entry, kind permitKind, start, now int64, o Outcome) {
	e.mu.Lock()
	defer e.mu.Unlock()
	stale := c.stale.Load()
	// Vigil or this client opened on slow calls: a slow answer is no recovery.
	passed := o == Success && !e.slower(now-start, stale)
	switch kind {
	case kindTrial:
		e.trialUntil = 0
		if o == Ignored {
			return
		}
		c.reportTrial(e.name, passed)
		if !passed {
			e.openLocal(now, e.localSlow, c)
			return
		}
		e.trialPassed(now, stale, c)
	case kindRamp:
		if o == Ignored {
			return
		}
		if !passed {
			// A noisy target fails now and then while healthy: re-open on a run of failures
			// as unlikely as one failure of a clean service, as Vigil's half-open does.
			if e.rampFailures++; e.rampFailures >= e.rampRun() {
				e.openLocal(now, e.localSlow, c)
			}
			return
		}
		e.rampFailures = 0
		if e.remote.state != HalfOpen {
			return
		}
		e.rampSuccesses++
		if e.rampSuccesses >= c.cfg.SuccessesPerStep {
			e.nextStep(now, c)
		}
	default:
		if e.remote.mode == modeForcedClosed && !stale {
			// An operator's forced_closed freezes the fast path too.
			e.failures.Store(0)
			e.slowRun.Store(0)
			return
		}
		if e.local != Closed {
			return
		}
		switch {
		case o == Failure && e.failures.Load() >= e.needed.Load():
			e.openLocal(now, false, c)
		case o == Success && e.slowRun.Load() >= e.slowNeeded.Load():
			e.openLocal(now, true, c)
		}
	}
}

// trialPassed closes the local fast path after a passing trial and, under Vigil's open or
// half-open, walks the ramp at once rather than wait for Vigil's backoff. It must be called
// with mu held.
func (e *entry) trialPassed(now int64, stale bool, c *Client) {
	c.stats.trialsPassed.Add(1)
	e.local = Closed
	e.localSlow = false
	e.localOpens = 0
	e.failures.Store(0)
	e.slowRun.Store(0)
	if !stale && (e.remote.state == Open || e.remote.state == HalfOpen) && e.remote.mode == modeAuto {
		e.startRamp(now, stale, c)
		if e.rampSuccesses = 1; e.rampSuccesses >= c.cfg.SuccessesPerStep {
			e.nextStep(now, c)
		}
	}
	e.refreshGate(stale)
}

// openLocal opens the local fast path with the next backoff; slow says it opened on slow
// calls. While Vigil's probe of the target says it is down, trials go at most every
// ProbedTrialInterval: the probe's pass brings the next one forward. It must be called with
// mu held.
func (e *entry) openLocal(now int64, slow bool, c *Client) {
	if e.local != Open {
		c.stats.localOpens.Add(1)
		if slow {
			c.stats.localSlowOpens.Add(1)
		}
		e.opensEver++
	}
	e.local = Open
	e.localSlow = slow
	e.recovered = false
	e.localOpens = min(e.localOpens+1, 32)
	d := float64(c.cfg.OpenInitial) * math.Pow(2, float64(e.localOpens-1))
	d = math.Min(d, float64(c.cfg.OpenMax))
	if e.remote.probeDown && !c.stale.Load() {
		d = math.Max(d, float64(c.cfg.ProbedTrialInterval))
	}
	e.nextTrial = now + int64(d)
	e.trialUntil = 0
	e.lastLocalOpen = time.Now().UnixNano()
	e.failures.Store(0)
	e.slowRun.Store(0)
	e.refreshGate(c.stale.Load())
}

// applySource applies a verdict of the fleet-wide view or of this caller's own view (mine),
// unless it is older than the one held. It must be called with mu held.
func (e *entry) applySource(v remoteView, mine bool, c *Client) {
	src := &e.fleet
	if mine {
		src = &e.mine
	}
	if v.version != 0 && v.version < src.version {
		return
	}
	*src = v
	e.applyRemote(merge(e.fleet, e.mine), c)
}

// merge is the stricter of the fleet-wide verdict and this caller's own; overrides are
// fleet-wide and win.
func merge(fleet, mine remoteView) remoteView {
	if fleet.mode != modeAuto {
		return fleet
	}
	out := fleet
	out.version = max(fleet.version, mine.version)
	switch {
	case mine.state > fleet.state:
		out.state, out.retryAt = mine.state, mine.retryAt
	case mine.state == fleet.state && mine.state == Open:
		out.retryAt = max(fleet.retryAt, mine.retryAt)
	}
	out.slowNanos = max(fleet.slowNanos, mine.slowNanos)
	return out
}

// applyRemote acts on the merged verdict. It must be called with mu held.
func (e *entry) applyRemote(v remoteView, c *Client) {
	now := c.now()
	prev := e.remote.state
	switch v.state {
	case Open:
		e.recovered = false
	case HalfOpen:
		if e.recovered {
			// Vigil is still testing a recovery this client has already seen through.
			v.state = Closed
		}
	}
	e.remote = v
	switch {
	case v.state == HalfOpen && prev != HalfOpen:
		e.startRamp(now, false, c)
	case v.state == Open && prev != Open && e.local != Open:
		// Vigil opened: the first trial goes after the initial local backoff, not at Vigil's
		// retry_at (a backoff Vigil sizes from spans that arrive late).
		e.nextTrial = now + int64(c.cfg.OpenInitial)
	}
	if v.answering && e.local == Open && v.version > e.lastLocalOpen {
		// Vigil saw the target answer after this client opened (other callers, probes,
		// another client's trial): try it now rather than at the next local trial.
		e.nextTrial = now
	}
	e.refreshGate(c.stale.Load())
}
