package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
)

const ms = time.Millisecond

func TestConsecutiveFailuresOpen(t *testing.T) {
	for _, class := range []breakerfeed.Class{breakerfeed.Error, breakerfeed.Timeout} {
		t.Run(class.String(), func(t *testing.T) {
			h := newHarness(t)
			h.warm("pay", 60, 50, 0, ms) // a healthy baseline: the configured 5 applies
			require.Equal(t, 5, h.Status("pay", false).Thresholds.ConsecutiveFailures)
			h.feed("pay", 4, class, ms, ms)
			assert.Equal(t, breakerfeed.Closed, h.state("pay"))
			assert.True(t, h.Allow("pay"))
			h.feed("pay", 1, class, ms, ms)
			assert.Equal(t, breakerfeed.Open, h.state("pay"))
			assert.False(t, h.Allow("pay"))
			tr := h.last()
			assert.Equal(t, "closed", tr.From)
			assert.Equal(t, "open", tr.To)
			assert.Equal(t, ReasonConsecutiveFailures, tr.Reason)
			assert.Equal(t, class.String(), tr.Class)
			assert.Equal(t, uint64(5), tr.Counts.ConsecutiveFailures)
			assert.Equal(t, uint64(5), tr.Counts.ConsecutiveNeeded)
			require.NotNil(t, tr.Retry)
			assert.Equal(t, h.clock.Time().Add(5*time.Second).UTC(), *tr.Retry)
		})
	}
}

func TestConsecutiveFailuresNeededFollowsBaseline(t *testing.T) {
	h := newHarness(t)
	// A new target assumes a 10% failure rate: a run of 8 (0.1^8 <= 2e-8).
	h.RecordOutcome("new", ok(ms))
	assert.Equal(t, 8, h.Status("new", false).Thresholds.ConsecutiveFailures)
	// A target that learned 20% needs a run of 11 or 12 (0.2^11 = 2e-8).
	h.warm("noisy", 600, 50, 5, ms)
	assert.InDelta(t, 0.2, h.Status("noisy", false).Baseline.FailureRate, 0.01)
	k := h.Status("noisy", false).Thresholds.ConsecutiveFailures
	assert.Contains(t, []int{11, 12}, k)
	h.feed("noisy", 1, breakerfeed.Success, ms, ms)
	h.feed("noisy", k-1, breakerfeed.Error, ms, ms)
	assert.Equal(t, breakerfeed.Closed, h.state("noisy"))
	h.feed("noisy", 1, breakerfeed.Error, ms, ms)
	assert.Equal(t, breakerfeed.Open, h.state("noisy"))
	// Never below the configured run.
	h.warm("clean", 600, 50, 0, ms)
	assert.Equal(t, 5, h.Status("clean", false).Thresholds.ConsecutiveFailures)
}

func TestSuccessResetsConsecutiveFailures(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 10; i++ {
		h.feed("pay", 4, breakerfeed.Error, ms, ms)
		h.feed("pay", 1, breakerfeed.Success, ms, ms)
	}
	// 40 of 50 calls failed, but never 5 in a row, and the rate rule is what catches this.
	assert.Equal(t, ReasonFailureRate, h.last().Reason)
}

func TestConsecutiveRuleDisabled(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.ConsecutiveFailures = 0 })
	h.feed("pay", 19, breakerfeed.Error, ms, ms)
	assert.Equal(t, breakerfeed.Closed, h.state("pay"), "below min_calls the rate rule must not trip either")
	h.feed("pay", 1, breakerfeed.Error, ms, ms)
	assert.Equal(t, breakerfeed.Open, h.state("pay"))
	assert.Equal(t, ReasonFailureRate, h.last().Reason)
}

// warm feeds seconds of traffic at rate calls/s with every errEvery-th call failing (0: none).
func (h *harness) warm(name string, seconds, rate, errEvery int, lat time.Duration) {
	gap := time.Second / time.Duration(rate)
	for i := 1; i <= seconds*rate; i++ {
		h.clock.Advance(gap)
		if errEvery > 0 && i%errEvery == 0 {
			h.RecordOutcome(name, fail())
		} else {
			h.RecordOutcome(name, ok(lat))
		}
	}
}

// tripped asserts name is open, opened for reason by calls of class, and returns that transition.
func (h *harness) tripped(t *testing.T, name, reason, class string) Transition {
	t.Helper()
	assert.Equal(t, breakerfeed.Open, h.state(name))
	tr := h.last()
	assert.Equal(t, reason, tr.Reason)
	assert.Equal(t, class, tr.Class)
	return tr
}

func TestFailureRateTripsAboveLearnedBaseline(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.ConsecutiveFailures = 0 })
	h.warm("pay", 300, 100, 50, 10*ms) // 2% errors for five minutes
	require.Equal(t, breakerfeed.Closed, h.state("pay"))
	st := h.Status("pay", false)
	assert.InDelta(t, 0.02, st.Baseline.FailureRate, 0.005, "learned baseline")
	// 15%: far above 2% even though a fixed 50% threshold would never see it.
	h.warm("pay", 10, 100, 7, 10*ms)
	tr := h.tripped(t, "pay", ReasonFailureRate, "error")
	assert.Greater(t, tr.Counts.FailureRate, tr.Counts.FailureThreshold)
	assert.InDelta(t, 0.02, tr.Counts.BaselineFailureRate, 0.005)
}

func TestFailureRateClassIsTimeoutWhenTimeoutsDominate(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.ConsecutiveFailures = 0 })
	h.warm("pay", 60, 100, 0, 10*ms)
	for i := 0; i < 1000 && h.state("pay") == breakerfeed.Closed; i++ {
		h.clock.Advance(10 * ms)
		c := breakerfeed.Success
		if i%2 == 0 {
			c = breakerfeed.Timeout
		}
		h.RecordOutcome("pay", breakerfeed.Outcome{Class: c, Latency: 10 * ms})
	}
	assert.Equal(t, ReasonFailureRate, h.last().Reason)
	assert.Equal(t, "timeout", h.last().Class)
}

func TestSteadyRateAtBaselineDoesNotTrip(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.ConsecutiveFailures = 0 })
	h.warm("pay", 600, 50, 5, 10*ms) // 20% errors, deterministic pattern
	assert.Equal(t, breakerfeed.Closed, h.state("pay"))
	assert.Empty(t, h.transitions())
}

func TestBaselineLearnsOnlyWhileClosedAndHealthy(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.ConsecutiveFailures = 0 })
	h.warm("pay", 120, 100, 100, 10*ms) // 1%
	before := h.Status("pay", false).Baseline
	// A long incident: 60% errors for ten minutes. The breaker opens; whatever is fed while it
	// is open or unhealthy must not move the baseline.
	h.warm("pay", 600, 100, 0, 10*ms)
	for i := 0; i < 600*100; i++ {
		h.clock.Advance(10 * ms)
		if i%5 < 3 {
			h.RecordOutcome("pay", fail())
		} else {
			h.RecordOutcome("pay", ok(10*ms))
		}
	}
	assert.NotEqual(t, breakerfeed.Closed, h.state("pay"))
	after := h.Status("pay", false).Baseline
	assert.Less(t, after.FailureRate, 0.02, "the incident must not teach that failure is normal")
	assert.InDelta(t, before.FailureRate, after.FailureRate, 0.01)
}

func TestBaselineCapped(t *testing.T) {
	h := newHarness(t, func(s *Settings) {
		s.ConsecutiveFailures = 0
		s.MaxBaselineFailureRate = 0.3
	})
	h.warm("pay", 300, 10, 0, 10*ms)
	b := h.target("pay").base
	b.failures, b.failCalls = 900, 1000 // as if 90% had been learned
	assert.Equal(t, 0.3, b.failureRate(&h.settings))
}

func TestSlowCallRateTrips(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.ConsecutiveFailures = 0 })
	h.warm("pay", 120, 100, 0, 20*ms)
	st := h.Status("pay", false)
	require.InDelta(t, 0.020, st.Baseline.LatencyP95Secs, 0.001)
	require.InDelta(t, 0.030, st.Thresholds.SlowCallSecs, 0.001, "1.5 × learned p95")
	// Everything now takes 100 ms: every call is slow.
	h.warm("pay", 5, 100, 0, 100*ms)
	tr := h.tripped(t, "pay", ReasonSlowCallRate, "slow")
	assert.Greater(t, tr.Counts.SlowRate, tr.Counts.SlowRateThreshold)
}

func TestSlowRuleWaitsForWarmup(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.ConsecutiveFailures = 0 })
	h.warm("pay", 1, 50, 0, 20*ms) // 50 calls: under the 100-call warm-up
	assert.Equal(t, 0.0, h.Status("pay", false).Thresholds.SlowCallSecs)
	h.warm("pay", 5, 50, 0, time.Second)
	assert.Equal(t, breakerfeed.Closed, h.state("pay"), "no slow threshold yet")
}

func TestAbsoluteSlowThreshold(t *testing.T) {
	h := newHarness(t, func(s *Settings) {
		s.ConsecutiveFailures = 0
		s.SlowThreshold = 50 * ms
	})
	assert.Equal(t, 0.05, h.Status("x", false).Thresholds.SlowCallSecs)
	h.warm("pay", 2, 100, 0, 60*ms) // slow from the first call, no warm-up needed
	assert.Equal(t, breakerfeed.Open, h.state("pay"))
	assert.Equal(t, ReasonSlowCallRate, h.last().Reason)
}

func TestSlowRuleDisabled(t *testing.T) {
	h := newHarness(t, func(s *Settings) {
		s.ConsecutiveFailures = 0
		s.SlowEnabled = false
		s.SlowThreshold = 50 * ms
	})
	h.warm("pay", 20, 100, 0, time.Second)
	assert.Equal(t, breakerfeed.Closed, h.state("pay"))
}

// backoff is the last transition's backoff: from its time to its retry time.
func (h *harness) backoff(t *testing.T) time.Duration {
	t.Helper()
	tr := h.last()
	require.NotNil(t, tr.Retry)
	return tr.Retry.Sub(tr.At)
}

// opened opens name and returns the backoff it opened with.
func (h *harness) opened(t *testing.T, name string) time.Duration {
	t.Helper()
	h.openTarget(t, name)
	return h.backoff(t)
}

func TestBackoffGrowsAcrossIncidentsCapsAndDecays(t *testing.T) {
	h := newHarness(t)
	want := []time.Duration{5, 10, 20, 40, 80, 160, 300, 300}
	h.healthy(t, "pay")
	for i, w := range want {
		assert.Equal(t, w*time.Second, h.opened(t, "pay"), "incident %d", i+1)
		// The incident ends: the backoff elapses and the ramp closes; the next one starts at once.
		h.clock.Advance(w * time.Second)
		h.closeThroughRamp(t, "pay")
	}
	// Stay closed (healthy) for six decay periods, then fail again: of the eight consecutive
	// incidents six are forgotten, so this is the 3rd: 20 s.
	h.clock.Advance(6 * time.Minute)
	assert.Equal(t, 20*time.Second, h.opened(t, "pay"))
}

func TestBackoffSteadyWithinOneOutage(t *testing.T) {
	h := newHarness(t)
	h.healthy(t, "pay")
	h.openTarget(t, "pay")
	// A long outage: every half-open attempt fails; the backoff stays the incident's 5 s.
	for i := range 12 {
		assert.Equal(t, 5*time.Second, h.backoff(t), "re-opening %d", i)
		h.clock.Advance(5 * time.Second)
		require.True(t, h.Allow("pay"), "the first half-open call is admitted")
		h.RecordOutcome("pay", fail())
		require.Equal(t, ReasonHalfOpenFailure, h.last().Reason)
	}
}

func TestSuccessesWhileOpenEndBackoff(t *testing.T) {
	h := newHarness(t)
	h.healthy(t, "pay")
	h.openTarget(t, "pay") // a total outage: 5 successes in a row are enough
	require.Equal(t, breakerfeed.Open, h.state("pay"))
	for range 4 {
		h.RecordOutcome("pay", ok(ms))
	}
	h.RecordOutcome("pay", fail()) // a failure breaks the run
	for range 4 {
		h.RecordOutcome("pay", ok(ms))
	}
	assert.Equal(t, breakerfeed.Open, h.state("pay"))
	h.RecordOutcome("pay", ok(ms))
	assert.Equal(t, breakerfeed.HalfOpen, h.state("pay"))
	assert.Equal(t, ReasonSuccessesWhileOpen, h.last().Reason)
}

func TestSuccessesToRecover(t *testing.T) {
	s := DefaultSettings()
	for _, tc := range []struct {
		calls, failures uint64
		want            int
	}{{0, 0, 5}, {10, 10, 5}, {10, 9, 5}, {100, 30, 9}, {100, 10, 29}} {
		assert.Equal(t, tc.want, successesToRecover(counts{calls: tc.calls, failures: tc.failures}, &s), "%d of %d", tc.failures, tc.calls)
	}
}

// closeThroughRamp drives a target whose backoff elapsed through the whole half-open ramp with
// successes.
func (h *harness) closeThroughRamp(t testing.TB, name string) {
	t.Helper()
	for i := 0; i < 100000 && h.state(name) != breakerfeed.Closed; i++ {
		h.clock.Advance(ms)
		if h.Allow(name) {
			h.RecordOutcome(name, ok(ms))
		}
	}
	require.Equal(t, breakerfeed.Closed, h.state(name))
	require.Equal(t, ReasonRampComplete, h.last().Reason)
}

func TestBackoffJitterBounds(t *testing.T) {
	for _, u := range []float64{0, 0.25, 0.999} {
		h := newHarness(t, func(s *Settings) { s.Rand = func() float64 { return u } })
		d := h.opened(t, "pay")
		assert.InDelta(t, float64(5*time.Second)*(1+0.2*(2*u-1)), float64(d), float64(time.Millisecond))
	}
	// At the cap, jitter never exceeds it.
	h := newHarness(t, func(s *Settings) {
		s.OpenInitial = 300 * time.Second
		s.Rand = func() float64 { return 0.999 }
	})
	assert.Equal(t, 300*time.Second, h.opened(t, "pay"))
}

func TestOpenToHalfOpenAfterBackoff(t *testing.T) {
	h := newHarness(t)
	h.openTarget(t, "pay")
	h.clock.Advance(5*time.Second - ms)
	assert.False(t, h.Allow("pay"))
	assert.Equal(t, breakerfeed.Open, h.state("pay"))
	h.clock.Advance(ms)
	assert.True(t, h.Allow("pay"))
	assert.Equal(t, breakerfeed.HalfOpen, h.state("pay"))
	assert.Equal(t, ReasonBackoffElapsed, h.last().Reason)
}

func TestOpenToHalfOpenOnRecordAfterBackoff(t *testing.T) {
	// Outcomes fed by callers that ignore the breaker also move time-driven state.
	h := newHarness(t)
	h.openTarget(t, "pay")
	h.clock.Advance(6 * time.Second)
	h.RecordOutcome("pay", ok(ms))
	assert.Equal(t, breakerfeed.HalfOpen, h.state("pay"))
}

func TestHalfOpenRampSteps(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.MaxStepDuration = time.Hour })
	h.backoffElapsed(t, "pay")
	for step, pct := range []float64{1, 10, 50, 100} {
		admitted := 0
		attempts := 0
		for h.target("pay").step == step && h.state("pay") != breakerfeed.Closed {
			attempts++
			if h.Allow("pay") {
				admitted++
				h.RecordOutcome("pay", ok(ms))
			}
			require.LessOrEqual(t, uint64(admitted), stepAllowance(uint64(attempts), pct), "step %d", step)
		}
		assert.Equal(t, 5, admitted, "step %d needs 5 successes", step)
		assert.Equal(t, int(float64(4)*100/pct)+1, attempts, "step %d at %v%%", step, pct)
	}
	assert.Equal(t, breakerfeed.Closed, h.state("pay"))
	assert.Equal(t, ReasonRampComplete, h.last().Reason)
}

func TestHalfOpenStepAdvancesAfterMaxStepDuration(t *testing.T) {
	h := newHarness(t)
	h.trial(t, "pay")
	h.RecordOutcome("pay", ok(ms)) // one success at 1%
	assert.Equal(t, 0, h.target("pay").step)
	h.clock.Advance(2*time.Second - ms)
	assert.False(t, h.Allow("pay"))
	h.clock.Advance(ms)
	assert.True(t, h.Allow("pay"), "a new step admits its first call")
	assert.Equal(t, 1, h.target("pay").step)
}

func TestHalfOpenStepWithoutSuccessHolds(t *testing.T) {
	h := newHarness(t)
	h.trial(t, "pay")
	h.clock.Advance(time.Minute) // the admitted call never reported back
	assert.False(t, h.Allow("pay"))
	assert.Equal(t, 0, h.target("pay").step)
	assert.Equal(t, breakerfeed.HalfOpen, h.state("pay"))
}

func TestHalfOpenNoisyTargetNeedsARunToReopen(t *testing.T) {
	// A target that fails 20% of calls when healthy would never pass a ramp that re-opens on
	// any failure; it re-opens on a run of failures as unlikely as one failure of a clean one.
	h := newHarness(t, func(s *Settings) {
		s.HalfOpenSteps = []float64{100} // admit everything: this test is about failures
		s.SuccessesPerStep = 1000
		s.MaxStepDuration = time.Hour
	})
	h.warm("noisy", 600, 50, 5, ms)
	tg := h.target("noisy")
	run := tg.base.halfOpenRun(&h.settings)
	assert.Equal(t, uint64(5), run, "0.2^5 = 3e-4 <= 1e-3")
	h.openTarget(t, "noisy")
	h.clock.Advance(time.Hour)
	for i := 0; i < 10; i++ {
		// Runs of run-1 failures, each broken by a success, never re-open.
		for j := uint64(0); j < run-1; j++ {
			require.True(t, h.Allow("noisy"))
			h.RecordOutcome("noisy", fail())
		}
		require.True(t, h.Allow("noisy"))
		h.RecordOutcome("noisy", ok(ms))
		require.Equal(t, breakerfeed.HalfOpen, h.state("noisy"))
	}
	for i := uint64(0); i < run; i++ {
		h.Allow("noisy")
		h.RecordOutcome("noisy", fail())
	}
	assert.Equal(t, breakerfeed.Open, h.state("noisy"))
	assert.Equal(t, ReasonHalfOpenFailure, h.last().Reason)
}

func TestHalfOpenSlowCallIsNotASuccess(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.SlowThreshold = 50 * ms })
	h.trial(t, "pay")
	h.RecordOutcome("pay", ok(time.Second))
	assert.Equal(t, 0, h.target("pay").stepSuccesses)
	assert.Equal(t, breakerfeed.HalfOpen, h.state("pay"))
}

func TestHalfOpenFailureReopensWithTheIncidentsBackoff(t *testing.T) {
	h := newHarness(t)
	h.healthy(t, "pay")
	h.trial(t, "pay")
	h.RecordOutcome("pay", breakerfeed.Outcome{Class: breakerfeed.Timeout})
	tr := h.last()
	assert.Equal(t, "half_open", tr.From)
	assert.Equal(t, "open", tr.To)
	assert.Equal(t, ReasonHalfOpenFailure, tr.Reason)
	assert.Equal(t, "timeout", tr.Class)
	assert.Equal(t, 5*time.Second, tr.Retry.Sub(tr.At))
}

func TestProbes(t *testing.T) {
	h := newHarness(t)
	// Closed: a failing probe is recorded but does not trip (calls decide).
	h.RecordProbe("pay", false)
	assert.Equal(t, breakerfeed.Closed, h.state("pay"))
	require.NotNil(t, h.Status("pay", false).LastProbe)
	assert.False(t, h.Status("pay", false).LastProbe.OK)

	h.openTarget(t, "pay")
	h.RecordProbe("pay", false)
	assert.Equal(t, breakerfeed.Open, h.state("pay"), "a failing probe keeps it open")
	h.RecordProbe("pay", true)
	assert.Equal(t, breakerfeed.HalfOpen, h.state("pay"), "a passing probe ends the backoff early")
	assert.Equal(t, ReasonProbePassed, h.last().Reason)

	// Half-open: a passing probe counts as a success of the step, a failing one re-opens.
	for i := 0; i < 5; i++ {
		h.RecordProbe("pay", true)
	}
	assert.Equal(t, 1, h.target("pay").step)
	h.RecordProbe("pay", false)
	assert.Equal(t, breakerfeed.Open, h.state("pay"))
	assert.Equal(t, ReasonProbeFailed, h.last().Reason)
	assert.Equal(t, "probe", h.last().Class)
}

// A failing probe while open restarts the backoff (the breaker stays open while the probe says
// down), and the probe's state rides on the transitions for clients.
func TestFailingProbeHoldsOpen(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.OpenJitter = 0 })
	h.RecordProbe("pay", false)
	h.openTarget(t, "pay")
	assert.Equal(t, "failing", h.last().Counts.Probe, "the opening carries the probe's state")
	for range 4 {
		h.clock.Advance(4 * time.Second)
		h.RecordProbe("pay", false)
	}
	assert.Equal(t, breakerfeed.Open, h.state("pay"), "16 s after a 5 s backoff, held open by failing probes")
	h.clock.Advance(2 * time.Second)
	h.RecordProbe("pay", true)
	assert.Equal(t, breakerfeed.HalfOpen, h.state("pay"))
	assert.Equal(t, ReasonProbePassed, h.last().Reason)
	assert.Equal(t, "passing", h.last().Counts.Probe)

	// Without probes the backoff elapses as before, and an old probe is not reported.
	h.openTarget(t, "cart")
	assert.Empty(t, h.last().Counts.Probe)
}

// A probe says a service answers, not how fast: its pass does not end an opening on slow calls.
func TestPassingProbeDoesNotEndSlowOpening(t *testing.T) {
	h := newHarness(t)
	h.warm("pay", 60, 100, 0, 20*ms)
	h.feed("pay", 100, breakerfeed.Success, 100*ms, 10*ms)
	require.Equal(t, breakerfeed.Open, h.state("pay"))
	require.Equal(t, "slow", h.last().Class)
	h.RecordProbe("pay", true)
	assert.Equal(t, breakerfeed.Open, h.state("pay"))
}

func TestClosingFencesOldFailures(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.MaxStepDuration = 0 })
	h.warm("pay", 60, 100, 0, ms)
	h.feed("pay", 30, breakerfeed.Error, ms, ms) // window now holds 30 failures
	require.Equal(t, breakerfeed.Open, h.state("pay"))
	h.clock.Advance(5 * time.Second)
	h.closeThroughRamp(t, "pay")
	// The failures from before the opening are still in the window's counts...
	assert.Positive(t, h.target("pay").win.sum.failures)
	// ...but one more failure after closing does not re-trip on them.
	h.RecordOutcome("pay", fail())
	assert.Equal(t, breakerfeed.Closed, h.state("pay"))
	assert.Equal(t, uint64(1), h.Status("pay", false).Counts.Failures)
}

func TestCountsKeptAcrossTransitions(t *testing.T) {
	h := newHarness(t)
	h.feed("pay", 10, breakerfeed.Success, ms, ms)
	h.openTarget(t, "pay")
	st := h.Status("pay", false)
	assert.Equal(t, uint64(19), st.Calls, "opening (after a run of 8 on a new target) does not reset the window")
	h.feed("pay", 3, breakerfeed.Error, ms, ms)
	assert.Equal(t, uint64(22), h.Status("pay", false).Calls, "outcomes while open still count")
}

// Spans arrive seconds late: failures of calls that ended before the half-open began do not
// re-open it, and those that ended before the opening do not break a run of successes.
func TestStaleOutcomesDoNotDecideRecovery(t *testing.T) {
	h := newHarness(t)
	h.healthy(t, "pay")
	h.openTarget(t, "pay")
	opened := h.clock.Now()
	h.clock.Advance(5 * time.Second)
	require.True(t, h.Allow("pay"))
	require.Equal(t, breakerfeed.HalfOpen, h.state("pay"))
	late := breakerfeed.Outcome{Class: breakerfeed.Error, Latency: ms, End: opened - int64(time.Second)}
	for range 10 {
		h.RecordOutcome("pay", late)
	}
	assert.Equal(t, breakerfeed.HalfOpen, h.state("pay"), "failures from before the half-open are stale")
	fresh := breakerfeed.Outcome{Class: breakerfeed.Error, Latency: ms, End: h.clock.Now()}
	h.RecordOutcome("pay", fresh)
	assert.Equal(t, breakerfeed.Open, h.state("pay"), "a failure of a call made in half-open re-opens")

	for range 4 {
		h.RecordOutcome("pay", breakerfeed.Outcome{Class: breakerfeed.Success, Latency: ms, End: h.clock.Now()})
	}
	h.RecordOutcome("pay", late) // stale: does not break the run
	h.RecordOutcome("pay", breakerfeed.Outcome{Class: breakerfeed.Success, Latency: ms, End: h.clock.Now()})
	assert.Equal(t, breakerfeed.HalfOpen, h.state("pay"))
	assert.Equal(t, ReasonSuccessesWhileOpen, h.last().Reason)
}

// A pause right after a closing delays a burst of calls together; the rate rules wait one
// bucket after the closing, so the burst alone does not re-open it, while lasting slowness does.
func TestPauseRightAfterClosingDoesNotTripSlowRule(t *testing.T) {
	h := newHarness(t)
	h.feed("pay", 12000, breakerfeed.Success, 20*ms, 100*time.Millisecond) // learns 20 ms
	h.backoffElapsed(t, "pay")
	h.closeThroughRamp(t, "pay")
	h.feed("pay", 30, breakerfeed.Success, 300*ms, 5*ms) // 150 ms of stalled calls
	assert.Equal(t, breakerfeed.Closed, h.state("pay"), "a burst within the first bucket after closing")
	h.feed("pay", 200, breakerfeed.Success, 300*ms, 10*ms) // slow for 2 s
	assert.Equal(t, breakerfeed.Open, h.state("pay"), "lasting slowness still opens")
	assert.Equal(t, ReasonSlowCallRate, h.last().Reason)
}
