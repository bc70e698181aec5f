// Package score holds the healthscore processor's scoring formulas: each signal as a function of
// its inputs, and their combination into one score in [0,1]. Every function here is pure,
// deterministic and monotone: a worse input never gives a higher value.
package score // import "github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"

import (
	"math"

	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/latency"
)

// Name is one of the signals a score is made of.
type Name int

// The signals, in the order they are emitted.
const (
	Errors Name = iota
	Latency
	Saturation
	Probe
	// Events is the rate of ERROR and FATAL log records against the service's learned rate.
	Events
	Dependencies
	// NumSignals is the number of signals.
	NumSignals
)

var names = [NumSignals]string{"errors", "latency", "saturation", "probe", "events", "dependencies"}

// String returns the signal's name as health.signal.name carries it.
func (n Name) String() string {
	if n < 0 || n >= NumSignals {
		return "unknown"
	}
	return names[n]
}

// Weights are the signals' weights in the combination; a signal with weight 0 is left out.
type Weights [NumSignals]float64

// Signals holds the value of each signal and whether it is present (a signal without fresh
// data is absent, not 1).
type Signals struct {
	Value   [NumSignals]float64
	Present [NumSignals]bool
}

// Set makes signal n present with value v (clamped to [0,1]).
func (s *Signals) Set(n Name, v float64) {
	s.Value[n] = clamp01(v)
	s.Present[n] = true
}

// Combine returns the weighted geometric mean of the present signals,
//
//	score = Π s_i ^ (w_i / Σ w_j)   over present signals with w_i > 0,
//
// and false when no weighted signal is present. A geometric mean lets one failing signal pull the
// score down on its own (a service failing half its calls is unhealthy however fast it fails),
// while a signal near 1 changes little; a signal at 0 makes the score 0.
func Combine(s *Signals, w *Weights) (float64, bool) {
	var total float64
	for i := range NumSignals {
		if s.Present[i] && w[i] > 0 {
			total += w[i]
		}
	}
	if total <= 0 {
		return 0, false
	}
	v := 1.0
	for i := range NumSignals {
		if s.Present[i] && w[i] > 0 {
			v *= math.Pow(clamp01(s.Value[i]), w[i]/total)
		}
	}
	return clamp01(v), true
}

// Cutoffs are the status cut-offs a score is named with (healthy from Healthy up, degraded from
// Degraded up).
type Cutoffs struct{ Healthy, Degraded float64 }

// Corroborated reports whether the component's own calls back a saturation reading: its errors
// or latency signal is present and below the healthy cut-off.
func Corroborated(s *Signals, c Cutoffs) bool {
	return (s.Present[Errors] && s.Value[Errors] < c.Healthy) || (s.Present[Latency] && s.Value[Latency] < c.Healthy)
}

// Bounded combines the signals like Combine, except that host saturation on its own never takes
// a component out of the healthy band: a busy host says the service may suffer, not that it does.
// Unless the component's own errors or latency corroborate it (Corroborated), saturation only
// moves the score from the rest of the signals, r, towards the healthy cut-off h,
//
//	score = r × sat + min(r, h) × (1 − sat),
//
// so a clean service on a host at the floor stays at or above h (healthy, never degraded or
// unhealthy), and a component already below h for other reasons (a failing probe, its callees)
// is left where they put it; a component without other signals counts as r = 1. When
// corroborated, saturation weighs in full: the lower of that and Combine. Both branches are
// monotone in every signal, and corroboration can only lower the score, so the whole stays
// monotone.
func Bounded(s *Signals, w *Weights, c Cutoffs) (float64, bool) {
	if !s.Present[Saturation] || w[Saturation] <= 0 {
		return Combine(s, w)
	}
	rest := *s
	rest.Present[Saturation] = false
	r, ok := Combine(&rest, w)
	if !ok {
		r = 1
	}
	sat := clamp01(s.Value[Saturation])
	bounded := r*sat + math.Min(r, c.Healthy)*(1-sat)
	if !Corroborated(s, c) {
		return clamp01(bounded), true
	}
	full, _ := Combine(s, w)
	return clamp01(math.Min(full, bounded)), true
}

// ErrorRate returns the error ratio of an interval, smoothed by prior calls at the SLO's own
// error rate:
//
//	e = (errors + prior × (1 − target)) / (calls + prior)
//
// so that one failure among two calls does not read as a 50% error rate.
func ErrorRate(calls, errors, target, prior float64) float64 {
	errors = math.Min(math.Max(errors, 0), math.Max(calls, 0))
	d := calls + prior
	if d <= 0 {
		return 0
	}
	return (errors + prior*(1-target)) / d
}

// ErrorSignal maps an error ratio e to [0,1] against the error budget b = 1 − target:
//
//	1 when e ≤ b, else 1 − ln(e/b) / ln(1/b), at least 0,
//
// that is, 1 within the SLO, 0 when every call fails, and falling with the logarithm of the
// burn rate e/b in between (for a 99.9% target: 0.9 at 2× burn, 0.61 at 14.4×, 0.33 at 10%
// errors, 0.10 at 50%).
func ErrorSignal(e, target float64) float64 {
	b := 1 - target
	if e <= b {
		return 1
	}
	if e >= 1 {
		return 0
	}
	return clamp01(1 - math.Log(e/b)/math.Log(1/b))
}

// EventSignal maps an interval's count of ERROR and FATAL log records to [0,1] against the
// count its baseline allows (allowed = max(learned rate, floor) × the interval's seconds),
// smoothed by prior events at the allowed rate:
//
//	r = (count + prior) / (allowed + prior);  1 when r ≤ 1, else 1 / (1 + ln r)
//
// so a service logging errors at its usual rate is at 1, twice its allowance reads 0.59, ten
// times 0.30, a hundred times 0.18; a few stray errors over an interval with a small allowance
// are absorbed by the prior.
func EventSignal(count, allowed, prior float64) float64 {
	count, allowed, prior = math.Max(count, 0), math.Max(allowed, 0), math.Max(prior, 0)
	if allowed+prior <= 0 {
		if count > 0 {
			return 0
		}
		return 1
	}
	r := (count + prior) / (allowed + prior)
	if r <= 1 {
		return 1
	}
	return clamp01(1 / (1 + math.Log(r)))
}

// Apdex returns the Apdex of an interval's latencies against threshold t (nanoseconds),
// smoothed by prior satisfied calls:
//
//	(satisfied + tolerating/2 + prior) / (n + prior)
//
// with satisfied = latencies ≤ t, tolerating = in (t, 4t]. Without latencies and prior it is 1.
func Apdex(c *latency.Counts, t, prior float64) float64 {
	n := c.Total()
	if n+prior <= 0 {
		return 1
	}
	satisfied := c.Below(t)
	tolerating := c.Below(4*t) - satisfied
	return clamp01((satisfied + tolerating/2 + prior) / (n + prior))
}

// SaturationSignal maps a utilisation u in [0,1] to [0,1]: 1 up to threshold, then falling
// linearly to floor at full utilisation.
func SaturationSignal(u, threshold, floor float64) float64 {
	u = clamp01(u)
	if u <= threshold {
		return 1
	}
	if threshold >= 1 {
		return 1
	}
	return clamp01(1 - (1-floor)*(u-threshold)/(1-threshold))
}

// Dependency is one callee of a component: its share of the component's calls (any
// non-negative weight) and its score.
type Dependency struct {
	Weight float64
	Score  float64
}

// DependencySignal returns the damped, call-weighted health of a component's callees,
//
//	1 − damping × Σ w_i (1 − s_i) / Σ w_i,
//
// so a callee at 0 that takes every call lowers the signal to 1 − damping, never below, and a
// callee taking a tenth of the calls moves it a tenth as much. False when no callee has weight.
func DependencySignal(deps []Dependency, damping float64) (float64, bool) {
	var total, bad float64
	for _, d := range deps {
		if d.Weight <= 0 {
			continue
		}
		total += d.Weight
		bad += d.Weight * (1 - clamp01(d.Score))
	}
	if total <= 0 {
		return 0, false
	}
	return clamp01(1 - damping*bad/total), true
}

// Status names a score's status: healthy from the healthy cut-off up, degraded from the
// degraded cut-off up, unhealthy below.
func Status(v, healthy, degraded float64) string {
	switch {
	case v >= healthy:
		return "healthy"
	case v >= degraded:
		return "degraded"
	default:
		return "unhealthy"
	}
}

func clamp01(v float64) float64 {
	switch {
	case math.IsNaN(v), v <= 0:
		return 0
	case v >= 1:
		return 1
	default:
		return v
	}
}
