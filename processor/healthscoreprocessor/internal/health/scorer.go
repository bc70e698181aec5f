package health

import (
	"cmp"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/internal/registry"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/latency"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"
)

// Snapshot is the outcome of one scoring pass, sorted by name.
type Snapshot struct {
	At         time.Time
	Components []ComponentScore
	Edges      []EdgeFigures
	Breakers   []BreakerState
	// Healthy and Degraded are the status cut-offs the statuses were named with.
	Healthy, Degraded float64

	rootCauses []RootCause
}

// ComponentScore is one component's score and the signals behind it.
type ComponentScore struct {
	Name string
	// Known is false when no signal had fresh data: the component is unknown, never healthy.
	Known   bool
	Score   float64
	Status  string // healthy, degraded, unhealthy, unknown
	Signals score.Signals
	// OwnScore is the score of the component's own signals, without its dependencies (NaN
	// when it has none): the evidence root-cause ranking weighs.
	OwnScore float64
	// RootCauseRank is the component's rank among this pass's root causes (1 = the most
	// likely), 0 when it is none; RootCause names the root cause that explains a component that
	// is not healthy ("" when none does).
	RootCauseRank int
	RootCause     string
}

// EdgeFigures are one caller → callee edge's figures over the pass's interval.
type EdgeFigures struct {
	Caller, Callee string
	// Rate is calls per second.
	Rate float64
	// ErrorRatio and LatencyP95 (seconds) are meaningful when HasCalls and HasLatency.
	ErrorRatio, LatencyP95 float64
	HasCalls, HasLatency   bool
	// Health is what the caller saw on this edge, in [0,1]: the error signal of the edge's own
	// calls combined with their Apdex against the edge's own latency baseline, kept while fresh.
	// Meaningful when HasHealth.
	Health    float64
	HasHealth bool
}

// BreakerState is one breaker target's state, as the extension reports it, and the mode it is
// in ("auto", or an operator's override: forced_open, forced_closed, disabled).
type BreakerState struct {
	Target string
	State  breakerfeed.State
	Mode   string
}

// Score runs one scoring pass at now: it takes every component's interval counts, computes its
// signals and score (propagating along dependency edges), learns latency baselines, forgets
// what expired, and returns the result. Passes are serialised.
func (e *Engine) Score(now time.Time) *Snapshot {
	e.scoreMu.Lock()
	defer e.scoreMu.Unlock()
	nowNs := now.UnixNano()
	elapsed := e.s.Interval.Seconds()
	if e.lastScore != 0 && nowNs > e.lastScore {
		elapsed = float64(nowNs-e.lastScore) / 1e9
	}
	e.lastScore = nowNs
	e.pass++
	e.expire(nowNs)

	all := e.components.View()
	comps := e.passComponents(all)
	decay := 1.0
	if e.s.BaselineHalfLife > 0 {
		decay = math.Exp2(-elapsed / e.s.BaselineHalfLife.Seconds())
	}
	snap := &Snapshot{At: now, Healthy: e.s.Healthy, Degraded: e.s.Degraded}
	own := make([]score.Signals, len(comps))
	var scratch latency.Counts
	for i, c := range comps {
		own[i] = e.scoreOwn(c, nowNs, elapsed, &scratch, decay)
	}
	deps := e.drainEdges(comps, all, snap, &scratch, decay, nowNs, elapsed)
	snap.Components = e.componentScores(comps, own, e.propagate(own, deps))
	snap.rankRootCauses(deps, e.s.Healthy)
	e.pushToBreaker(snap)
	e.last.Store(snap)
	return snap
}

// passComponents returns every component sorted by name, each marked with this pass and its
// index (so that edges find their callee's index).
func (e *Engine) passComponents(all registry.View[*component]) []*component {
	comps := make([]*component, 0, all.Len())
	for _, c := range all.All() {
		comps = append(comps, c)
	}
	slices.SortFunc(comps, func(a, b *component) int { return cmp.Compare(a.name, b.name) })
	for i, c := range comps {
		c.st.pass, c.st.idx = e.pass, i
	}
	return comps
}

// scores are the components' final signals and scores after propagation.
type scores struct {
	signals []score.Signals
	score   []float64
	known   []bool
}

// componentScores names each component's score and status, with the score of its own signals
// (the evidence root-cause ranking weighs).
func (e *Engine) componentScores(comps []*component, own []score.Signals, res scores) []ComponentScore {
	out := make([]ComponentScore, len(comps))
	for i, c := range comps {
		cs := ComponentScore{Name: c.name, Known: res.known[i], Signals: res.signals[i], Status: "unknown", Score: math.NaN(), OwnScore: math.NaN()}
		if res.known[i] {
			cs.Score = res.score[i]
			cs.Status = score.Status(res.score[i], e.s.Healthy, e.s.Degraded)
		}
		if v, ok := score.Bounded(&own[i], &e.s.Weights, e.cutoffs()); ok {
			cs.OwnScore = v
		}
		out[i] = cs
	}
	return out
}

// pushToBreaker reads the breaker's states (with their modes, when the breaker reports them)
// into snap.
func (e *Engine) pushToBreaker(snap *Snapshot) {
	f := e.loadFeeder()
	if f == nil {
		return
	}
	if mf, ok := f.(breakerfeed.ModeFeeder); ok {
		mf.StatesWithMode(func(target string, st breakerfeed.State, mode string) bool {
			snap.Breakers = append(snap.Breakers, BreakerState{Target: target, State: st, Mode: mode})
			return true
		})
	} else {
		f.States(func(target string, st breakerfeed.State) bool {
			snap.Breakers = append(snap.Breakers, BreakerState{Target: target, State: st, Mode: breakerfeed.ModeAuto})
			return true
		})
	}
	slices.SortFunc(snap.Breakers, func(a, b BreakerState) int { return cmp.Compare(a.Target, b.Target) })
}

// scoreOwn drains a component's interval, updates its own signals (all but dependencies),
// learns its latency baseline from a healthy-enough interval, and returns the fresh signals.
func (e *Engine) scoreOwn(c *component, now int64, elapsed float64, scratch *latency.Counts, decay float64) score.Signals {
	st := &c.st
	scratch.Reset()
	packed := c.calls.Swap(0)
	calls, errs := float64(uint32(packed)), float64(packed>>32)
	c.hist.DrainInto(scratch)

	c.mu.Lock()
	if r := c.red; r != nil {
		// RED metrics stand in for services that send metrics but no spans.
		if calls == 0 && r.calls > 0 {
			calls, errs = r.calls, r.errors
			scratch.Add(&r.counts)
		}
		r.calls, r.errors = 0, 0
		r.counts.Reset()
	}
	var up, total float64
	var probeAt int64
	for _, p := range c.probes {
		if now-p.at > int64(e.s.StaleAfter) {
			continue
		}
		total++
		if p.up {
			up++
		}
		probeAt = max(probeAt, p.at)
	}
	c.mu.Unlock()

	if calls > 0 {
		rate := score.ErrorRate(calls, errs, e.s.SLOTarget, e.s.PriorCalls)
		st.signals[score.Errors] = signal{score.ErrorSignal(rate, e.s.SLOTarget), now, true}
		if t := e.threshold(c); t > 0 && scratch.Total() > 0 {
			st.signals[score.Latency] = signal{score.Apdex(scratch, t, e.s.PriorCalls), now, true}
		}
	}
	if total > 0 {
		st.signals[score.Probe] = signal{up / total, probeAt, true}
	}
	if v, at, ok := e.saturation(c, now); ok {
		st.signals[score.Saturation] = signal{v, at, true}
	}
	e.scoreEvents(c, now, elapsed, decay)

	var s score.Signals
	for n := range score.Dependencies {
		if sg := st.signals[n]; sg.ok && now-sg.at <= int64(e.s.StaleAfter) {
			s.Set(n, sg.value)
		}
	}
	// Learn the latency baseline only from intervals whose latency signal is healthy (or not
	// there yet) and that are not unhealthy on the component's own signals, so neither a
	// slowdown nor an incident teaches that it is normal, while a service with a steady, degraded
	// error rate still learns its latency. The baseline forgets at its half-life either way: a
	// lasting regression is reported until the baseline holds fewer than BaselineMinCalls, then
	// the new latency is learned.
	v, ok := score.Bounded(&s, &e.s.Weights, e.cutoffs())
	latencyHealthy := !s.Present[score.Latency] || s.Value[score.Latency] >= e.s.Healthy
	switch {
	case scratch.Total() > 0 && latencyHealthy && (!ok || v >= e.s.Degraded):
		if st.baseline == nil {
			st.baseline = new(latency.Baseline)
		}
		st.baseline.Learn(scratch, decay)
	case st.baseline != nil:
		st.baseline.Decay(decay)
	}
	return s
}

// scoreEvents sets the events signal from the interval's ERROR and FATAL log records against
// the component's learned rate (at least events.min_rate), and learns that rate: from intervals
// whose events signal is at least degraded, or from any interval while the baseline holds less
// than events.warm_up; otherwise it only forgets, so a lasting burst of errors is reported until
// the baseline is warm again, then learned, as latency is.
func (e *Engine) scoreEvents(c *component, now int64, elapsed, decay float64) {
	packed := c.logs.Swap(0)
	total, errs := float64(uint32(packed)), float64(packed>>32)
	st := &c.st
	st.events.count *= decay
	st.events.seconds *= decay
	if total == 0 {
		return
	}
	allowed := math.Max(st.events.rate(), e.s.EventsMinRate) * elapsed
	v := score.EventSignal(errs, allowed, e.s.PriorCalls)
	st.signals[score.Events] = signal{v, now, true}
	if v >= e.s.Degraded || st.events.seconds < e.s.EventsWarmUp.Seconds() {
		st.events.count += errs
		st.events.seconds += elapsed
	}
}

// threshold returns the component's Apdex threshold in nanoseconds: configured, or the learned
// quantile of its baseline once the baseline holds enough calls; 0 while there is none.
func (e *Engine) threshold(c *component) float64 {
	if d, ok := e.s.LatencyThresholds[c.name]; ok {
		return float64(d)
	}
	if e.s.LatencyThreshold > 0 {
		return float64(e.s.LatencyThreshold)
	}
	if c.st.baseline != nil && c.st.baseline.Total() >= e.s.BaselineMinCalls {
		return c.st.baseline.Quantile(e.s.LatencyQuantile)
	}
	return 0
}

// saturation returns the mean saturation signal of the component's hosts with fresh data.
func (e *Engine) saturation(c *component, now int64) (float64, int64, bool) {
	p := c.hosts.Load()
	if p == nil {
		return 0, 0, false
	}
	stale := int64(e.s.StaleAfter)
	var sum, n float64
	var at int64
	for _, l := range *p {
		if now-l.lastSeen.Load() > stale {
			continue
		}
		h, ok := e.hosts.Load(l.name)
		if !ok {
			continue
		}
		u, hat, ok := h.utilisation(now, stale)
		if !ok {
			continue
		}
		sum += score.SaturationSignal(u, e.s.SaturationThreshold, e.s.SaturationFloor)
		n++
		at = max(at, hat)
	}
	if n == 0 {
		return 0, 0, false
	}
	return sum / n, at, true
}

// sortedEdges appends the view's edges to out, sorted by callee.
func sortedEdges(out []*edge, m registry.View[*edge]) []*edge {
	for _, d := range m.All() {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *edge) int { return cmp.Compare(a.callee, b.callee) })
	return out
}

// expire forgets components, edges, hosts and aliases without data for ExpireAfter. Each set is
// scanned only when its floor says the cut can have passed one of its entries: with steady
// traffic, once an ExpireAfter rather than every pass.
func (e *Engine) expire(now int64) {
	cut := now - int64(e.s.ExpireAfter)
	gone := expireSet(e.components, &e.compFloor, cut)
	if len(gone) > 0 {
		e.c.expired[kindComponent].Add(uint64(len(gone)))
		for _, c := range gone {
			c.gone.Store(true)
			if n := c.edgeTotal(); n > 0 {
				e.edgeCount.Add(-n)
				e.c.expired[kindEdge].Add(uint64(n))
			}
		}
	}
	for _, c := range e.components.All() {
		x := c.edges.Load()
		if x == nil {
			continue
		}
		n := int64(len(expireSet(x, &c.edgeFloor, cut)))
		if n == 0 {
			continue
		}
		c.nEdge.Add(-n)
		e.edgeCount.Add(-n)
		e.c.expired[kindEdge].Add(uint64(n))
	}
	if hosts := expireSet(e.hosts, &e.hostFloor, cut); len(hosts) > 0 {
		e.c.expired[kindHost].Add(uint64(len(hosts)))
	}
	if len(gone) > 0 {
		live := e.components.View()
		dropped := e.aliases.DeleteFunc(func(_ string, a *alias) bool {
			p := a.ports.Load()
			if p == nil {
				return true
			}
			for _, ap := range *p {
				if _, ok := live.Get(ap.service); ok {
					return false
				}
			}
			return true // every service behind it is gone
		})
		e.aliasCount.Add(-int64(len(dropped)))
	}
}

// seenSet is a registry (or index) of entries that know when they were last seen.
type seenSet[V interface{ seen() int64 }] interface {
	View() registry.View[V]
	DeleteFunc(drop func(name string, v V) bool) []V
}

// expireSet deletes and returns the entries of set last seen before cut, scanning them only when
// f is below cut, and leaves f at the earliest time an entry kept was last seen. The scan that
// finds nothing to forget copies no map.
func expireSet[V interface{ seen() int64 }](set seenSet[V], f *floor, cut int64) []V {
	if !f.due(cut) {
		return nil
	}
	f.begin()
	earliest, older := int64(math.MaxInt64), false
	for _, v := range set.View().All() {
		s := v.seen()
		earliest = min(earliest, s)
		older = older || s < cut
	}
	if !older {
		f.lower(earliest)
		return nil
	}
	earliest = math.MaxInt64
	gone := set.DeleteFunc(func(_ string, v V) bool {
		s := v.seen()
		if s < cut {
			return true
		}
		earliest = min(earliest, s)
		return false
	})
	f.lower(earliest)
	return gone
}

// floor bounds from below when the entries of a set were last seen. Last-seen times only grow,
// and an entry created at t lowers the floor to t (after it is stored), so while the floor is at
// or above an expiry cut no entry can be older than the cut and the set need not be scanned.
// The zero floor is due at once.
type floor struct{ v atomic.Int64 }

// due reports whether an entry may have been last seen before cut.
func (f *floor) due(cut int64) bool { return f.v.Load() < cut }

// begin starts a scan: entries created while it runs lower the floor from the top.
func (f *floor) begin() { f.v.Store(math.MaxInt64) }

// lower makes t the floor when it is below it.
func (f *floor) lower(t int64) {
	for {
		cur := f.v.Load()
		if t >= cur || f.v.CompareAndSwap(cur, t) {
			return
		}
	}
}
