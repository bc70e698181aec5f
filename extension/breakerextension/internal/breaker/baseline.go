package breaker

import (
	"math"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// Sketch parameters: 2% relative accuracy over at most 128 bins bounds a target's latency
// sketch to about 1 KiB of counts whatever its latencies. 128 bins at 2% span a factor of
// about 150 between the lowest and the highest latency kept apart (1 ms to 150 ms, say): the
// lowest bins collapse first, which only blurs latencies far below the quantiles the slow rule
// and the status use.
const (
	sketchAccuracy = 0.02
	sketchMaxBins  = 128
)

// latencyMapping is the sketches' index mapping, immutable and shared by every target. The
// cubically interpolated mapping indexes without a logarithm, at the cost of a few more bins
// for the same accuracy.
var latencyMapping = func() mapping.IndexMapping {
	m, err := mapping.NewCubicallyInterpolatedMapping(sketchAccuracy)
	if err != nil {
		panic(err) // only reachable with invalid constants above
	}
	return m
}()

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
	slowThresholdNanos  int64   // the same in nanoseconds, for the record path
}

// newBaseline returns a baseline holding only its priors: initial_failure_rate and, for slow
// calls, the share above the slow quantile, each as if seen over warmup_calls calls. The priors
// decay with everything learned, so a target's own history soon outweighs them.
func newBaseline(s *Settings) baseline {
	// Latencies are never negative, so the negative store stays empty.
	sk := ddsketch.NewDDSketch(latencyMapping, store.NewCollapsingLowestDenseStore(sketchMaxBins), store.NewCollapsingLowestDenseStore(1))
	w := float64(s.WarmupCalls)
	return baseline{
		latency:  sk,
		failures: s.InitialFailureRate * w, failCalls: w,
		slow: (1 - s.SlowQuantile) * w, slowCalls: w,
	}
}

// failureRate is the learned failure rate, capped at what may ever count as normal.
func (b *baseline) failureRate(s *Settings) float64 {
	if b.failCalls <= 0 {
		return math.Min(s.InitialFailureRate, s.MaxBaselineFailureRate)
	}
	return math.Min(b.failures/b.failCalls, s.MaxBaselineFailureRate)
}

// slowRate is the learned slow-call rate.
func (b *baseline) slowRate(s *Settings) float64 {
	if b.slowCalls <= 0 {
		return 1 - s.SlowQuantile
	}
	return b.slow / b.slowCalls
}

// consecutiveChance is the chance, per call, that the consecutive-failures rule may trip on a
// run of background failures: the run needed is the smallest k >= consecutive_failures with
// baseline^k <= consecutiveChance. At a 1% baseline that is the configured 5; at 10-12%, 8;
// at 20%, 11, so a million calls at a steady background open by chance less than 0.05 times in
// expectation, while a total outage still opens within a dozen calls.
const consecutiveChance = 5e-8

// halfOpenChance plays the same part in half-open, where a ramp admits a few dozen calls: a
// failure re-opens at once when the baseline makes one unlikely (<= 0.1%), and a target that
// fails 1% or 20% of calls when healthy needs a run of 2 or 5 to re-open, so its ramp can pass.
const halfOpenChance = 1e-3

// runNeeded is the smallest run k >= floor of failures whose chance at the baseline rate p is
// at most chance.
func runNeeded(p, chance float64, floor uint64) uint64 {
	k := floor
	if p > 0 && p < 1 {
		// The epsilon keeps an exact power (0.1^8) from rounding up to the next run.
		k = max(k, uint64(math.Ceil(math.Log(chance)/math.Log(p)-1e-9)))
	}
	return k
}

// consecutiveNeeded is the run of failures that opens the breaker for this baseline.
func (b *baseline) consecutiveNeeded(s *Settings) uint64 {
	if s.ConsecutiveFailures <= 0 {
		return 0
	}
	return runNeeded(b.failureRate(s), consecutiveChance, uint64(s.ConsecutiveFailures))
}

// halfOpenRun is the run of failures that re-opens a half-open breaker.
func (b *baseline) halfOpenRun(s *Settings) uint64 {
	return runNeeded(b.failureRate(s), halfOpenChance, 1)
}

// warm reports whether the failure baseline has learned enough calls to be trusted.
func (b *baseline) warm(s *Settings) bool { return b.learnedCalls >= uint64(s.WarmupCalls) }

// failureThreshold is the rate the window's failure rate must significantly exceed to trip.
// Until the baseline is warm it is at least max_baseline_failure_rate: a new target that fails
// 20% of the time when healthy must not trip on the prior before it has learned that.
func (b *baseline) failureThreshold(s *Settings) float64 {
	p := b.failureRate(s)
	thr := p + math.Max(s.FailureMinIncrease, s.FailureRelativeIncrease*p)
	if !b.warm(s) {
		thr = math.Max(thr, s.MaxBaselineFailureRate)
	}
	return thr
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

// thresholdNanos is threshold in nanoseconds (0 while not known).
func (b *baseline) thresholdNanos(s *Settings) int64 {
	if !s.SlowEnabled {
		return 0
	}
	if s.SlowThreshold > 0 {
		return int64(s.SlowThreshold)
	}
	return b.slowThresholdNanos
}

// observeLatency adds a healthy call's latency to the sketch (in seconds).
func (b *baseline) observeLatency(d time.Duration) {
	if d > 0 {
		_ = b.latency.Add(float64(d) * 1e-9) // only fails on negative or non-finite values, excluded here
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
			b.slowThresholdNanos = int64(b.slowThreshold * 1e9)
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
