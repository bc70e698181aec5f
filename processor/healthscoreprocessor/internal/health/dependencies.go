package health

import (
	"math"
	"slices"

	"github.com/vigil-collector/vigil/internal/registry"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/latency"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"
)

// calleeEvidence is how much a callee's global score weighs on an edge beside what the caller
// itself saw on that edge: a callee at 0 lowers a clean edge's health to 1 − calleeEvidence.
// It is small on purpose, so a caller whose own calls all succeed stays healthy whatever other
// callers of the same callee see (with the default damping its dependencies signal stays at or
// above 0.95).
const calleeEvidence = 0.1

// dep is one callee of a caller in a scoring pass.
type dep struct {
	callee int     // the callee's index in the pass
	weight float64 // the caller's calls to it in the last interval that had any
	health float64 // what the caller saw on the edge (Edge health)
}

// drainEdges takes every edge's interval counts into snap.Edges, updates each edge's own health
// (error ratio and Apdex of the caller's calls on it, held while fresh) and returns each caller's
// callees with their weight and edge health; edges without data for StaleAfter are drained but
// left out.
func (e *Engine) drainEdges(comps []*component, all registry.View[*component], snap *Snapshot, scratch *latency.Counts, decay float64, now int64, elapsed float64) [][]dep {
	stale := int64(e.s.StaleAfter)
	deps := make([][]dep, len(comps))
	// Every caller's deps are a run of one backing slice, and every component's sorted edges use
	// one buffer: a pass allocates per pass, not per component.
	var flat []dep
	if n := e.edgeCount.Load(); n > 0 {
		snap.Edges = make([]EdgeFigures, 0, n)
		flat = make([]dep, 0, n)
	}
	var edges []*edge
	for i, c := range comps {
		x := c.edges.Load()
		if x == nil {
			continue
		}
		start := len(flat)
		edges = sortedEdges(edges[:0], x.View())
		for _, d := range edges {
			packed := d.calls.Swap(0)
			calls, errs := float64(uint32(packed)), float64(packed>>32)
			scratch.Reset()
			d.hist.DrainInto(scratch)
			if calls > 0 {
				d.weight = calls
				e.learnEdge(d, calls, errs, scratch, decay, now)
			} else if d.baseline != nil {
				d.baseline.Decay(decay)
			}
			if now-d.lastSeen.Load() > stale {
				continue
			}
			f := EdgeFigures{Caller: c.name, Callee: d.callee, Rate: calls / elapsed, HasCalls: calls > 0}
			if calls > 0 {
				f.ErrorRatio = math.Min(errs/calls, 1)
			}
			if scratch.Total() > 0 {
				f.LatencyP95, f.HasLatency = scratch.Quantile(0.95)/1e9, true
			}
			if d.hasHealth && now-d.healthAt <= stale {
				f.Health, f.HasHealth = d.health, true
			}
			snap.Edges = append(snap.Edges, f)
			if callee, ok := all.Get(d.callee); ok && callee.st.pass == e.pass && d.weight > 0 && f.HasHealth {
				flat = append(flat, dep{callee: callee.st.idx, weight: d.weight, health: f.Health})
			}
		}
		if len(flat) > start {
			deps[i] = flat[start:len(flat):len(flat)]
		}
	}
	return deps
}

// learnEdge sets an edge's health from one interval of the caller's calls on it: the error
// signal of its error ratio, combined with the Apdex of its latencies against the edge's own
// threshold (configured for the callee, else learned from the edge's healthy intervals).
func (e *Engine) learnEdge(d *edge, calls, errs float64, counts *latency.Counts, decay float64, now int64) {
	var s score.Signals
	s.Set(score.Errors, score.ErrorSignal(score.ErrorRate(calls, errs, e.s.SLOTarget, e.s.PriorCalls), e.s.SLOTarget))
	if t := e.edgeThreshold(d); t > 0 && counts.Total() > 0 {
		s.Set(score.Latency, score.Apdex(counts, t, e.s.PriorCalls))
	}
	v, _ := score.Combine(&s, &e.s.Weights)
	d.health, d.healthAt, d.hasHealth = v, now, true
	latencyHealthy := !s.Present[score.Latency] || s.Value[score.Latency] >= e.s.Healthy
	switch {
	case counts.Total() > 0 && latencyHealthy && v >= e.s.Degraded:
		if d.baseline == nil {
			d.baseline = new(latency.Baseline)
		}
		d.baseline.Learn(counts, decay)
	case d.baseline != nil:
		d.baseline.Decay(decay)
	}
}

// edgeThreshold is the Apdex threshold (ns) of an edge: the callee's configured threshold, else
// the learned quantile of the edge's own baseline once it holds enough calls; 0 while none.
func (e *Engine) edgeThreshold(d *edge) float64 {
	if t, ok := e.s.LatencyThresholds[d.callee]; ok {
		return float64(t)
	}
	if e.s.LatencyThreshold > 0 {
		return float64(e.s.LatencyThreshold)
	}
	if d.baseline != nil && d.baseline.Total() >= e.s.BaselineMinCalls {
		return d.baseline.Quantile(e.s.LatencyQuantile)
	}
	return 0
}

// propagate combines the own signals into scores, then runs a fixed number of passes that take
// each caller's dependencies signal from its edges' health, each lowered a little
// (calleeEvidence) by its callee's previous score (Jacobi iteration). The damping makes this a
// contraction, so cycles settle; a fixed count keeps the result a monotone function of the inputs.
// A pass that changes nothing ends it early: every later pass would repeat it exactly (on a
// graph without cycles that is one pass more than its depth).
func (e *Engine) propagate(own []score.Signals, deps [][]dep) scores {
	w := &e.s.Weights
	cut := e.cutoffs()
	n := len(own)
	res := scores{signals: slices.Clone(own), score: make([]float64, n), known: make([]bool, n)}
	for i := range own {
		res.score[i], res.known[i] = score.Bounded(&own[i], w, cut)
	}
	if w[score.Dependencies] <= 0 || !slices.ContainsFunc(deps, func(d []dep) bool { return len(d) > 0 }) {
		return res
	}
	cur, known := res.score, res.known
	next, nextKnown := make([]float64, n), make([]bool, n)
	var ds []score.Dependency
	for range maxDependencyPasses {
		copy(next, cur)
		copy(nextKnown, known)
		for i := range own {
			if len(deps[i]) == 0 {
				continue
			}
			ds = ds[:0]
			for _, d := range deps[i] {
				h := d.health
				if known[d.callee] {
					h *= 1 - calleeEvidence*(1-cur[d.callee])
				}
				ds = append(ds, score.Dependency{Weight: d.weight, Score: h})
			}
			sig := own[i]
			if v, ok := score.DependencySignal(ds, e.s.Damping); ok {
				sig.Set(score.Dependencies, v)
			}
			next[i], nextKnown[i] = score.Bounded(&sig, w, cut)
			res.signals[i] = sig
		}
		settled := slices.Equal(next, cur) && slices.Equal(nextKnown, known)
		cur, next = next, cur
		known, nextKnown = nextKnown, known
		if settled {
			break
		}
	}
	res.score, res.known = cur, known
	return res
}
