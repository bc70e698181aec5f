package score

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/latency"
)

var defaultWeights = Weights{Errors: 0.35, Latency: 0.25, Saturation: 0.15, Probe: 0.15, Dependencies: 0.10}

func TestNames(t *testing.T) {
	assert.Equal(t, "errors", Errors.String())
	assert.Equal(t, "latency", Latency.String())
	assert.Equal(t, "saturation", Saturation.String())
	assert.Equal(t, "probe", Probe.String())
	assert.Equal(t, "dependencies", Dependencies.String())
	assert.Equal(t, "events", Events.String())
	assert.Equal(t, "unknown", NumSignals.String())
	assert.Equal(t, "unknown", Name(-1).String())
}

func TestErrorSignal(t *testing.T) {
	tests := []struct {
		name          string
		calls, errors float64
		target, prior float64
		want          float64
	}{
		{"no errors", 1000, 0, 0.999, 10, 1},
		{"within the SLO", 10000, 9, 0.999, 10, 1},
		{"2x burn", 100000, 200, 0.999, 0, 0.8997},
		{"10% errors", 100000, 10000, 0.999, 0, 0.3333},
		{"half the calls fail", 100000, 50000, 0.999, 0, 0.1003},
		{"every call fails", 1000, 1000, 0.999, 0, 0},
		{"one failure in two calls is smoothed by the prior", 2, 1, 0.999, 10, 0.3583},
		{"the same without prior reads as 50%", 2, 1, 0.999, 0, 0.1003},
		{"looser SLO: 1% errors against 99%", 1000, 10, 0.99, 0, 1},
		{"errors beyond calls are capped", 10, 50, 0.999, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ErrorRate(tt.calls, tt.errors, tt.target, tt.prior)
			assert.InDelta(t, tt.want, ErrorSignal(e, tt.target), 1e-4, "error rate %v", e)
		})
	}
	assert.Equal(t, 0.0, ErrorRate(0, 0, 0.999, 0), "no calls and no prior: no error rate")
}

func TestApdex(t *testing.T) {
	ms := func(d float64) float64 { return d * float64(time.Millisecond) }
	counts := func(pairs ...float64) *latency.Counts {
		var c latency.Counts
		for i := 0; i < len(pairs); i += 2 {
			c.AddNanos(ms(pairs[i]), pairs[i+1])
		}
		return &c
	}
	tests := []struct {
		name      string
		c         *latency.Counts
		threshold float64
		prior     float64
		want      float64
	}{
		{"all satisfied", counts(10, 100), ms(50), 0, 1},
		{"all tolerating", counts(100, 100), ms(50), 0, 0.5},
		{"all frustrated", counts(1000, 100), ms(50), 0, 0},
		{"mixed: 80 satisfied, 10 tolerating, 10 frustrated", counts(10, 80, 100, 10, 1000, 10), ms(50), 0, 0.85},
		{"prior lifts a tiny sample", counts(1000, 2), ms(50), 10, 10.0 / 12},
		{"empty is 1", counts(), ms(50), 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, Apdex(tt.c, tt.threshold, tt.prior), 1e-9)
		})
	}
}

func TestSaturationSignal(t *testing.T) {
	tests := []struct {
		u, threshold, floor, want float64
	}{
		{0.1, 0.8, 0.1, 1},
		{0.8, 0.8, 0.1, 1},
		{0.9, 0.8, 0.1, 0.55},
		{1.0, 0.8, 0.1, 0.1},
		{1.7, 0.8, 0.1, 0.1},
		{-1, 0.8, 0.1, 1},
		{0.9, 0.8, 0, 0.5},
		{0.99, 1, 0, 1},
	}
	for _, tt := range tests {
		assert.InDelta(t, tt.want, SaturationSignal(tt.u, tt.threshold, tt.floor), 1e-9, "u=%v threshold=%v floor=%v", tt.u, tt.threshold, tt.floor)
	}
}

func TestDependencySignal(t *testing.T) {
	tests := []struct {
		name    string
		deps    []Dependency
		damping float64
		want    float64
		ok      bool
	}{
		{"no callees", nil, 0.5, 0, false},
		{"only weightless callees", []Dependency{{0, 0}}, 0.5, 0, false},
		{"healthy callees", []Dependency{{10, 1}, {5, 0.95}}, 0.5, 1 - 0.5*(5*0.05)/15, true},
		{"the only callee is down: damped to 1 - damping", []Dependency{{10, 0}}, 0.5, 0.5, true},
		{"one bad leaf with a tenth of the calls", []Dependency{{90, 1}, {10, 0}}, 0.5, 0.95, true},
		{"no damping: dependencies never count", []Dependency{{10, 0}}, 0, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := DependencySignal(tt.deps, tt.damping)
			assert.Equal(t, tt.ok, ok)
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
}

func TestCombine(t *testing.T) {
	sig := func(pairs ...any) *Signals {
		var s Signals
		for i := 0; i < len(pairs); i += 2 {
			s.Set(pairs[i].(Name), pairs[i+1].(float64))
		}
		return &s
	}
	tests := []struct {
		name string
		s    *Signals
		w    Weights
		want float64
		ok   bool
	}{
		{"nothing present: unknown", sig(), defaultWeights, 0, false},
		{"every signal at 1", sig(Errors, 1.0, Latency, 1.0, Saturation, 1.0, Probe, 1.0, Dependencies, 1.0), defaultWeights, 1, true},
		{"one signal is the score", sig(Probe, 0.7), defaultWeights, 0.7, true},
		{"a signal at 0 makes the score 0", sig(Errors, 1.0, Probe, 0.0), defaultWeights, 0, true},
		{"half the calls failing, fast: unhealthy", sig(Errors, 0.1003, Latency, 1.0), defaultWeights, math.Pow(0.1003, 0.35/0.6), true},
		{"half the calls failing, every other signal perfect: still below 0.5", sig(Errors, 0.1003, Latency, 1.0, Saturation, 1.0, Probe, 1.0, Dependencies, 1.0), defaultWeights, math.Pow(0.1003, 0.35), true},
		{"weight 0 leaves a signal out", sig(Errors, 0.2, Latency, 1.0), Weights{Errors: 0, Latency: 1}, 1, true},
		{"only zero-weight signals present: unknown", sig(Errors, 0.2), Weights{Latency: 1}, 0, false},
		{"saturated host alone: degraded, not down", sig(Errors, 1.0, Latency, 1.0, Saturation, 0.1), defaultWeights, math.Pow(0.1, 0.15/0.75), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Combine(tt.s, &tt.w)
			assert.Equal(t, tt.ok, ok)
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
	half, _ := Combine(sig(Errors, 0.1003, Latency, 1.0, Saturation, 1.0, Probe, 1.0, Dependencies, 1.0), &defaultWeights)
	assert.Less(t, half, 0.5)
}

func TestStatus(t *testing.T) {
	assert.Equal(t, "healthy", Status(0.95, 0.9, 0.5))
	assert.Equal(t, "healthy", Status(0.9, 0.9, 0.5))
	assert.Equal(t, "degraded", Status(0.89, 0.9, 0.5))
	assert.Equal(t, "degraded", Status(0.5, 0.9, 0.5))
	assert.Equal(t, "unhealthy", Status(0.49, 0.9, 0.5))
}

// TestSignalsAreMonotone checks each formula on random inputs: a worse input never gives a
// higher value. (The end-to-end property, through the scorer and the dependency graph, is
// tested in the health package.)
func TestSignalsAreMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		target := 0.9 + 0.0999*r.Float64()
		prior := 20 * r.Float64()
		calls := float64(r.IntN(10000))
		errs := math.Floor(calls * r.Float64())
		more := math.Min(calls, errs+float64(1+r.IntN(100)))
		require.LessOrEqual(t,
			ErrorSignal(ErrorRate(calls, more, target, prior), target),
			ErrorSignal(ErrorRate(calls, errs, target, prior), target))

		u := r.Float64()
		thr, floor := r.Float64(), r.Float64()
		require.LessOrEqual(t, SaturationSignal(u+r.Float64()*(1-u), thr, floor), SaturationSignal(u, thr, floor))

		var s Signals
		var w Weights
		for i := range NumSignals {
			w[i] = r.Float64()
			if r.IntN(4) > 0 {
				s.Set(i, r.Float64())
			}
		}
		before, ok := Combine(&s, &w)
		n := Name(r.IntN(int(NumSignals)))
		if !ok || !s.Present[n] {
			continue
		}
		s.Value[n] *= r.Float64()
		after, _ := Combine(&s, &w)
		require.LessOrEqual(t, after, before+1e-12)
	}
}

func TestApdexIsMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 2000 {
		var c, worse latency.Counts
		for range 50 {
			ns := math.Exp(math.Log(1e4) + r.Float64()*math.Log(1e5))
			n := float64(1 + r.IntN(20))
			c.AddNanos(ns, n)
			worse.AddNanos(ns*(1+3*r.Float64()), n) // every latency the same or slower
		}
		threshold := math.Exp(math.Log(1e4) + r.Float64()*math.Log(1e5))
		prior := 10 * r.Float64()
		require.LessOrEqual(t, Apdex(&worse, threshold, prior), Apdex(&c, threshold, prior)+1e-12)
	}
}

func TestEventSignal(t *testing.T) {
	tests := []struct {
		name                  string
		count, allowed, prior float64
		want                  float64
	}{
		{"none", 0, 1, 10, 1},
		{"at the allowance", 10, 10, 10, 1},
		{"a few stray errors over a small allowance: absorbed by the prior", 5, 1, 10, 1 / (1 + math.Log(15.0/11))},
		{"twice the allowance", 20, 10, 0, 1 / (1 + math.Ln2)},
		{"ten times", 100, 10, 0, 1 / (1 + math.Log(10))},
		{"no allowance and no prior: any error is 0", 1, 0, 0, 0},
		{"no allowance, no prior, no error", 0, 0, 0, 1},
		{"negative inputs are taken as 0", -5, -1, 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, EventSignal(tt.count, tt.allowed, tt.prior), 1e-12)
		})
	}
	// Monotone: more errors never score higher; a larger allowance never scores lower.
	prev := 1.0
	for n := 0.0; n < 1e6; n = n*2 + 1 {
		v := EventSignal(n, 10, 10)
		assert.LessOrEqual(t, v, prev)
		assert.GreaterOrEqual(t, EventSignal(n, 20, 10), v)
		prev = v
	}
}

func TestBoundedSaturation(t *testing.T) {
	w := Weights{Errors: 0.35, Latency: 0.25, Saturation: 0.15, Probe: 0.15, Dependencies: 0.10}
	cut := Cutoffs{Healthy: 0.9, Degraded: 0.5}
	sig := func(pairs ...any) *Signals {
		var s Signals
		for i := 0; i < len(pairs); i += 2 {
			s.Set(pairs[i].(Name), pairs[i+1].(float64))
		}
		return &s
	}
	for _, tt := range []struct {
		name string
		s    *Signals
		want float64
	}{
		{"saturation only, at the floor", sig(Saturation, 0.1), 0.1 + 0.9*0.9},
		{"clean service, host at the floor", sig(Errors, 1.0, Probe, 1.0, Saturation, 0.1), 0.91},
		{"clean service, idle host", sig(Errors, 1.0, Saturation, 1.0), 1},
		{"own errors corroborate: the full geometric mean", sig(Errors, 0.5, Saturation, 0.1), math.Pow(0.5, 0.35/0.5) * math.Pow(0.1, 0.15/0.5)},
		{"probe down, uncorroborated: saturation adds nothing", sig(Probe, 0.5, Saturation, 0.1), 0.5},
		{"no saturation: Combine", sig(Errors, 0.5, Latency, 1.0), math.Pow(0.5, 0.35/0.6)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Bounded(tt.s, &w, cut)
			require.True(t, ok)
			assert.InDelta(t, tt.want, got, 1e-9)
		})
	}
}
