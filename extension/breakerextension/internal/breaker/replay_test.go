package breaker

// The replay suite drives the registry with synthetic outcome streams on a fake clock and checks
// the properties the breaker promises: total outages open fast, steady background errors never
// open, a latency rise opens, recovery closes within two probe intervals, and half-open never
// admits more than its ramp step. Randomness is seeded, so every run replays the same streams.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
)

// stream generates one target's outcomes: errors at errRate, latencies log-normal around
// median with shape sigma, scaled by slowdown.
type stream struct {
	rng      *rand.Rand
	errRate  float64
	median   time.Duration
	sigma    float64
	slowdown float64
	down     bool // a total outage: every call fails
}

func newStream(seed uint64, errRate float64, sigma float64) *stream {
	return &stream{rng: rand.New(rand.NewPCG(seed, 42)), errRate: errRate, median: 20 * ms, sigma: sigma, slowdown: 1}
}

func (s *stream) next() breakerfeed.Outcome {
	if s.down {
		return breakerfeed.Outcome{Class: breakerfeed.Error, Latency: ms}
	}
	lat := time.Duration(float64(s.median) * s.slowdown * math.Exp(s.sigma*s.rng.NormFloat64()))
	if s.rng.Float64() < s.errRate {
		return breakerfeed.Outcome{Class: breakerfeed.Error, Latency: lat}
	}
	return breakerfeed.Outcome{Class: breakerfeed.Success, Latency: lat}
}

// run plays rate calls/s for d from callers that obey the breaker (a refused call is not made),
// calling each after every call; it stops early when each returns false.
func (h *harness) run(t testing.TB, name string, s *stream, rate int, d time.Duration, each func() bool) {
	t.Helper()
	gap := time.Second / time.Duration(rate)
	for n := int(d / gap); n > 0; n-- {
		h.clock.Advance(gap)
		if h.Allow(name) {
			h.RecordOutcome(name, s.next())
		}
		h.checkRamp(t, name)
		if each != nil && !each() {
			return
		}
	}
}

// checkRamp asserts the half-open invariant: a step never admits more than its share.
func (h *harness) checkRamp(t testing.TB, name string) {
	tg := h.target(name)
	if tg == nil {
		return
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.machine() != breakerfeed.HalfOpen {
		return
	}
	pct := h.settings.HalfOpenSteps[tg.step]
	if tg.stepAdmitted > stepAllowance(tg.stepAttempts, pct) {
		t.Fatalf("%s: step %d (%v%%) admitted %d of %d attempts", name, tg.step+1, pct, tg.stepAdmitted, tg.stepAttempts)
	}
}

var rates = []int{10, 100, 1000}

func TestReplayTotalOutageOpensWithinEightCalls(t *testing.T) {
	for _, rate := range rates {
		for _, background := range []float64{0, 0.01, 0.05, 0.10} {
			t.Run(fmt.Sprintf("%d/s background %.0f%%", rate, background*100), func(t *testing.T) {
				h := newHarness(t)
				s := newStream(uint64(rate), background, 0.5)
				h.run(t, "pay", s, rate, 2*time.Minute, nil)
				require.Equal(t, breakerfeed.Closed, h.state("pay"), "healthy warm-up must not open")
				s.down = true
				failed := 0
				h.run(t, "pay", s, rate, time.Minute, func() bool {
					failed++
					return h.state("pay") == breakerfeed.Closed
				})
				assert.Equal(t, breakerfeed.Open, h.state("pay"))
				assert.LessOrEqual(t, failed, 8, "failed calls before opening")
				t.Logf("opened after %d failed calls (%s, run needed %d at baseline %.4f)", failed, h.last().Reason,
					h.last().Counts.ConsecutiveNeeded, h.last().Counts.BaselineFailureRate)
			})
		}
	}
	t.Run("new target", func(t *testing.T) {
		h := newHarness(t)
		s := newStream(1, 0, 0.5)
		s.down = true
		failed := 0
		h.run(t, "pay", s, 100, time.Minute, func() bool {
			failed++
			return h.state("pay") == breakerfeed.Closed
		})
		assert.LessOrEqual(t, failed, 8)
	})
}

func TestReplaySteadyBackgroundErrorsNeverOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("a million calls per case")
	}
	for _, background := range []float64{0.10, 0.20} {
		for _, rate := range []int{100, 1000} {
			t.Run(fmt.Sprintf("%.0f%% at %d/s", background*100, rate), func(t *testing.T) {
				h := newHarness(t)
				s := newStream(uint64(rate)+uint64(background*100), background, 0.5)
				gap := time.Second / time.Duration(rate)
				for i := 0; i < 1_000_000; i++ {
					h.clock.Advance(gap)
					h.RecordOutcome("pay", s.next())
				}
				assert.Empty(t, h.transitions(), "a steady background must never open")
				st := h.Status("pay", false)
				assert.InDelta(t, background, st.Baseline.FailureRate, 0.02, "learned the background")
				t.Logf("baseline %.3f, failure threshold %.3f, consecutive run %d, slow threshold %.1f ms",
					st.Baseline.FailureRate, st.Thresholds.FailureRate, st.Thresholds.ConsecutiveFailures, st.Thresholds.SlowCallSecs*1000)
			})
		}
	}
}

func TestReplayLatencyRiseOpensWithinTenSeconds(t *testing.T) {
	for _, rate := range rates {
		for _, sigma := range []float64{0.5, 1.0} {
			t.Run(fmt.Sprintf("%d/s sigma %.1f", rate, sigma), func(t *testing.T) {
				h := newHarness(t)
				s := newStream(uint64(rate*7), 0.01, sigma)
				h.run(t, "pay", s, rate, 5*time.Minute, nil)
				require.Equal(t, breakerfeed.Closed, h.state("pay"))
				// Every call now takes three times as long: p99 rises 3×.
				s.slowdown = 3
				start := h.clock.Now()
				h.run(t, "pay", s, rate, time.Minute, func() bool { return h.state("pay") == breakerfeed.Closed })
				took := time.Duration(h.clock.Now() - start)
				require.Equal(t, breakerfeed.Open, h.state("pay"))
				assert.Equal(t, ReasonSlowCallRate, h.last().Reason)
				assert.LessOrEqual(t, took, 10*time.Second)
				t.Logf("opened after %s (slow rate %.3f > %.3f)", took, h.last().Counts.SlowRate, h.last().Counts.SlowRateThreshold)
			})
		}
	}
}

func TestReplayRecoveryClosesWithinTwoProbeIntervals(t *testing.T) {
	const probeEvery = 10 * time.Second
	for _, rate := range rates {
		for _, outage := range []time.Duration{30 * time.Second, 10 * time.Minute} {
			t.Run(fmt.Sprintf("%d/s outage %s", rate, outage), func(t *testing.T) {
				h := newHarness(t)
				s := newStream(uint64(rate*13), 0, 0.5)
				nextProbe := h.clock.Now() + int64(probeEvery)
				probes := func() bool {
					if h.clock.Now() >= nextProbe {
						h.RecordProbe("pay", !s.down)
						nextProbe += int64(probeEvery)
					}
					return true
				}
				h.run(t, "pay", s, rate, time.Minute, probes)
				s.down = true
				// The outage starts and ends off the probe grid.
				h.run(t, "pay", s, rate, outage+3700*ms, probes)
				require.Equal(t, breakerfeed.Open, h.state("pay"))
				s.down = false
				recovered := h.clock.Now()
				h.run(t, "pay", s, rate, 2*probeEvery, func() bool {
					probes()
					return h.state("pay") != breakerfeed.Closed
				})
				took := time.Duration(h.clock.Now() - recovered)
				assert.Equal(t, breakerfeed.Closed, h.state("pay"))
				assert.Equal(t, ReasonRampComplete, h.last().Reason)
				assert.LessOrEqual(t, took, 2*probeEvery)
				t.Logf("closed %s after recovery", took)
			})
		}
	}
}

func TestReplayHalfOpenNeverAdmitsMoreThanItsStep(t *testing.T) {
	// A flapping target: half-open over and over, at every rate, with the invariant checked
	// after every decision (run calls checkRamp).
	for _, rate := range rates {
		t.Run(fmt.Sprintf("%d/s", rate), func(t *testing.T) {
			h := newHarness(t, func(s *Settings) { s.OpenMax = 10 * time.Second })
			s := newStream(uint64(rate*17), 0.3, 0.5)
			halfOpens := 0
			h.run(t, "pay", s, rate, 10*time.Minute, func() bool {
				if h.clock.Now()%int64(20*time.Second) == 0 {
					s.down = !s.down
				}
				return true
			})
			for _, tr := range h.transitions() {
				if tr.To == "half_open" {
					halfOpens++
				}
			}
			assert.Positive(t, halfOpens)
			t.Logf("%d half-open periods checked", halfOpens)
		})
	}
}
