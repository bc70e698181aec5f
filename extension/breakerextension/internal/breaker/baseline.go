package breaker

import (
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
)

// Sketch parameters: 2% relative accuracy over at most 256 bins bounds a target's latency
// sketch to about 2 KiB whatever its latencies (the lowest bins collapse first, which only
// blurs latencies far below the quantiles the slow rule uses).
const (
	sketchAccuracy = 0.02
	sketchMaxBins  = 256
)

// baseline is what a target has learned to be normal: its failure and slow-call rates as
// exponentially decayed counts, and its latency distribution as a decayed DDSketch. It learns
// only from completed buckets in which the breaker was closed and the window looked healthy, so
// an incident never teaches the breaker that failure is normal.
type baseline struct {
	failures, failCalls float64 // decayed counts behind the failure rate
	slow, slowCalls     float64 // decayed counts behind the slow rate (only once a threshold exists)
	learnedCalls        uint64  // calls learned, undecayed (reported, and the warm-up test)
	latency             *ddsketch.DDSketch
	slowThreshold       float64 // seconds; 0 until known
}

func newBaseline() baseline {
	sk, err := ddsketch.LogCollapsingLowestDenseDDSketch(sketchAccuracy, sketchMaxBins)
	if err != nil {
		// Only reachable with invalid constants above.
		panic(err)
	}
	return baseline{latency: sk}
}

// failureRate is the learned failure rate, starting from the prior.
func (b *baseline) failureRate(s *Settings) float64 {
	w := float64(s.WarmupCalls)
	r := (b.failures + s.InitialFailureRate*w) / (b.failCalls + w)
	return math.Min(r, s.MaxBaselineFailureRate)
}

// slowRate is the learned slow-call rate; its prior is the share of calls above the quantile.
func (b *baseline) slowRate(s *Settings) float64 {
	w := float64(s.WarmupCalls)
	return (b.slow + (1-s.SlowQuantile)*w) / (b.slowCalls + w)
}

// consecutiveChance is the chance, per call, that the consecutive-failures rule may trip on a
// run of background failures: the run needed is the smallest k >= consecutive_failures with
// baseline^k <= consecutiveChance. At a 1% baseline that is the configured 5; at 10%, 8; at
// 20%, 12, so a million calls at a steady 20% do not open by chance while a total outage still
// opens within a dozen calls.
const consecutiveChance = 1e-8

// consecutiveNeeded is the run of failures that opens the breaker for this baseline.
func (b *baseline) consecutiveNeeded(s *Settings) uint64 {
	if s.ConsecutiveFailures <= 0 {
		return 0
	}
	k := uint64(s.ConsecutiveFailures)
	if p := b.failureRate(s); p > 0 && p < 1 {
		// The epsilon keeps an exact power (0.1^8) from rounding up to the next run.
		k = max(k, uint64(math.Ceil(math.Log(consecutiveChance)/math.Log(p)-1e-9)))
	}
	return k
}

// failureThreshold is the rate the window's failure rate must significantly exceed to trip.
func (b *baseline) failureThreshold(s *Settings) float64 {
	p := b.failureRate(s)
	return p + math.Max(s.FailureMinIncrease, s.FailureRelativeIncrease*p)
}

// slowRateThreshold is the rate the window's slow rate must significantly exceed to trip.
func (b *baseline) slowRateThreshold(s *Settings) float64 {
	p := b.slowRate(s)
	return p + math.Max(s.SlowMinIncrease, s.SlowRelativeIncrease*p)
}

// threshold returns the latency, in seconds, above which a successful call is slow; 0 while it
// is not known (slow-call rule off, or the sketch still warming up).
func (b *baseline) threshold(s *Settings) float64 {
	if !s.SlowEnabled {
		return 0
	}
	if s.SlowThreshold > 0 {
		return s.SlowThreshold.Seconds()
	}
	return b.slowThreshold
}

// observeLatency adds a healthy call's latency to the sketch.
func (b *baseline) observeLatency(seconds float64) {
	if seconds > 0 {
		_ = b.latency.Add(seconds) // only fails on negative or non-finite values, excluded here
	}
}

// learn folds one completed healthy bucket into the rates, decaying what came before by the
// bucket's share of the half-life, and refreshes the slow threshold from the sketch.
func (b *baseline) learn(c counts, decay float64, s *Settings) {
	b.failures = b.failures*decay + float64(c.failures)
	b.failCalls = b.failCalls*decay + float64(c.calls)
	if b.threshold(s) > 0 {
		b.slow = b.slow*decay + float64(c.slow)
		b.slowCalls = b.slowCalls*decay + float64(c.calls)
	}
	b.learnedCalls += c.calls
	if b.latency.GetCount() > 0 {
		_ = b.latency.Reweight(decay)
	}
	if s.SlowEnabled && s.SlowThreshold == 0 && b.latency.GetCount() >= float64(s.WarmupCalls) {
		if q, err := b.latency.GetValueAtQuantile(s.SlowQuantile); err == nil {
			b.slowThreshold = q * s.SlowMultiplier
		}
	}
}

// quantile returns the learned latency at q in seconds, or 0 when nothing is learned.
func (b *baseline) quantile(q float64) float64 {
	if b.latency.IsEmpty() {
		return 0
	}
	v, err := b.latency.GetValueAtQuantile(q)
	if err != nil {
		return 0
	}
	return v
}
