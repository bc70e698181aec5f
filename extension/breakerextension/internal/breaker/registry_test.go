package breaker

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
)

func TestOverrideForcedOpen(t *testing.T) {
	h := newHarness(t)
	h.feed("pay", 10, breakerfeed.Success, ms, ms)
	st, err := h.SetMode("pay", ModeForcedOpen)
	require.NoError(t, err)
	assert.Equal(t, "forced_open", st.State)
	assert.Equal(t, "closed", st.MachineState)
	assert.False(t, st.Allow)
	assert.False(t, h.Allow("pay"))
	s, known := h.State("pay")
	assert.True(t, known)
	assert.Equal(t, breakerfeed.Open, s)
	tr := h.last()
	assert.Equal(t, "closed", tr.From)
	assert.Equal(t, "forced_open", tr.To)
	assert.Equal(t, ReasonOverride, tr.Reason)
	// States tell the override from a learned open.
	modes := map[string]string{}
	h.StatesWithMode(func(target string, st breakerfeed.State, mode string) bool {
		assert.Equal(t, breakerfeed.Open, st)
		modes[target] = mode
		return true
	})
	assert.Equal(t, map[string]string{"pay": breakerfeed.ModeForcedOpen}, modes)
	// Frozen: failures neither trip nor teach.
	h.feed("pay", 50, breakerfeed.Error, ms, ms)
	assert.Equal(t, "closed", h.Status("pay", false).MachineState)
	// Back to auto: the machine decides again, from where it was.
	st, err = h.SetMode("pay", ModeAuto)
	require.NoError(t, err)
	assert.Equal(t, "closed", st.State)
	assert.True(t, h.Allow("pay"))
	assert.Equal(t, "forced_open", h.last().From)
	assert.Equal(t, "closed", h.last().To)
}

func TestOverrideForcedClosed(t *testing.T) {
	h := newHarness(t)
	h.openTarget(t, "pay")
	st, err := h.SetMode("pay", ModeForcedClosed)
	require.NoError(t, err)
	assert.Equal(t, "forced_closed", st.State)
	assert.True(t, st.Allow)
	assert.True(t, h.Allow("pay"))
	assert.Equal(t, breakerfeed.Closed, h.state("pay"))
	// Frozen: the machine stays open underneath even past its backoff.
	h.clock.Advance(time.Hour)
	h.feed("pay", 5, breakerfeed.Success, ms, ms)
	assert.Equal(t, "open", h.Status("pay", false).MachineState)
}

func TestOverrideDisabledObservesWithoutBlocking(t *testing.T) {
	h := newHarness(t)
	_, err := h.SetMode("pay", ModeDisabled)
	require.NoError(t, err)
	h.feed("pay", 8, breakerfeed.Error, ms, ms)
	st := h.Status("pay", true)
	assert.Equal(t, "disabled", st.State)
	assert.Equal(t, "open", st.MachineState, "the machine still runs")
	assert.True(t, st.Allow, "disabled never blocks")
	assert.True(t, h.Allow("pay"))
	s, _ := h.State("pay")
	assert.Equal(t, breakerfeed.Open, s, "State reports what the machine observes")
	tr := h.last()
	assert.Equal(t, "open", tr.To)
	assert.Equal(t, "disabled", tr.Mode)
	assert.Equal(t, ReasonConsecutiveFailures, tr.Reason)
}

func TestOverrideSameModeIsNoTransition(t *testing.T) {
	h := newHarness(t)
	_, err := h.SetMode("pay", ModeAuto)
	require.NoError(t, err)
	assert.Empty(t, h.transitions())
	assert.True(t, h.Status("pay", false).Known, "an override creates the target")
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{ModeAuto, ModeForcedOpen, ModeForcedClosed, ModeDisabled} {
		got, ok := ParseMode(m.String())
		assert.True(t, ok)
		assert.Equal(t, m, got)
	}
	_, ok := ParseMode("FORCED_OPEN")
	assert.False(t, ok)
	_, ok = ParseMode("")
	assert.False(t, ok)
	assert.Equal(t, "unknown", Mode(9).String())
}

func TestUnknownTarget(t *testing.T) {
	h := newHarness(t)
	assert.True(t, h.Allow("new-service"))
	s, known := h.State("new-service")
	assert.False(t, known)
	assert.Equal(t, breakerfeed.Closed, s)
	st := h.Status("new-service", true)
	assert.False(t, st.Known)
	assert.Equal(t, "closed", st.State)
	assert.True(t, st.Allow)
	assert.Equal(t, 0, h.Len(), "asking about a target does not create it")
}

func TestInvalidTargetNamesDropped(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.MaxTargetLength = 8 })
	for _, name := range []string{"", "123456789", "bad\nname", "bad\x00", string([]byte{0xff, 0xfe})} {
		h.RecordOutcome(name, fail())
		h.RecordProbe(name, true)
		_, err := h.SetMode(name, ModeForcedOpen)
		assert.Error(t, err, "%q", name)
	}
	assert.Equal(t, 0, h.Len())
	assert.Equal(t, uint64(10), h.Dropped())
	assert.NoError(t, ValidateTarget("payments", 8))
	assert.NoError(t, ValidateTarget("café-☕", 64))
	assert.ErrorIs(t, ValidateTarget(strings.Repeat("a", 9), 8), ErrTargetTooLong)
}

func TestEvictionLeastRecentlySeen(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.MaxTargets = 128 })
	for i := 0; i < 128; i++ {
		h.clock.Advance(ms)
		h.RecordOutcome(fmt.Sprintf("svc-%03d", i), ok(ms))
	}
	require.Equal(t, 128, h.Len())
	// svc-000..009 are seen again: they are now the most recent.
	for i := 0; i < 10; i++ {
		h.clock.Advance(ms)
		h.RecordOutcome(fmt.Sprintf("svc-%03d", i), ok(ms))
	}
	h.clock.Advance(ms)
	h.RecordOutcome("newcomer", ok(ms))
	// Over the cap by one: the oldest 1 + 128/64 = 3 go, which are svc-010..012.
	assert.Equal(t, 126, h.Len())
	assert.Equal(t, uint64(3), h.Evicted())
	for i := 0; i < 128; i++ {
		_, known := h.State(fmt.Sprintf("svc-%03d", i))
		assert.Equal(t, i < 10 || i > 12, known, "svc-%03d", i)
	}
	_, known := h.State("newcomer")
	assert.True(t, known)
}

func TestEvictionBoundsUnderChurn(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.MaxTargets = 64 })
	for i := 0; i < 10000; i++ {
		h.clock.Advance(ms)
		h.RecordOutcome(fmt.Sprintf("random-%d", i), ok(ms))
		require.LessOrEqual(t, h.Len(), 64)
	}
	n := 0
	h.States(func(string, breakerfeed.State) bool { n++; return true })
	assert.Equal(t, h.Len(), n)
}

func TestStatesAndList(t *testing.T) {
	h := newHarness(t)
	h.feed("b", 1, breakerfeed.Success, ms, ms)
	h.openTarget(t, "a")
	got := map[string]breakerfeed.State{}
	h.States(func(name string, s breakerfeed.State) bool { got[name] = s; return true })
	assert.Equal(t, map[string]breakerfeed.State{"a": breakerfeed.Open, "b": breakerfeed.Closed}, got)
	list := h.List()
	require.Len(t, list, 2)
	assert.Equal(t, "a", list[0].Target)
	assert.False(t, list[0].Allow)
	assert.Equal(t, "b", list[1].Target)
	assert.True(t, list[1].Allow)
	// States stops when told to.
	n := 0
	h.States(func(string, breakerfeed.State) bool { n++; return false })
	assert.Equal(t, 1, n)
}

func TestListDoesNotTakeHalfOpenSlots(t *testing.T) {
	h := newHarness(t)
	h.backoffElapsed(t, "pay")
	for i := 0; i < 10; i++ {
		h.List()
		h.Status("pay", false)
	}
	assert.True(t, h.Allow("pay"), "peeks took no slot: the first decision is still admitted")
	assert.False(t, h.Allow("pay"))
}

func TestTransitionHistoryBounded(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.TransitionHistory = 4 })
	for i := 0; i < 5; i++ {
		h.openTarget(t, "pay")
		_, _ = h.SetMode("pay", ModeForcedClosed)
		_, _ = h.SetMode("pay", ModeAuto)
		h.clock.Advance(time.Hour)
		h.closeThroughRamp(t, "pay")
	}
	st := h.Status("pay", false)
	require.Len(t, st.Transitions, 4)
	assert.Equal(t, ReasonRampComplete, st.Transitions[3].Reason)
	assert.True(t, st.Transitions[0].At.Before(st.Transitions[3].At))
}

func TestStatusFields(t *testing.T) {
	h := newHarness(t)
	h.warm("pay", 30, 100, 20, 10*ms)
	h.openTarget(t, "pay")
	st := h.Status("pay", false)
	assert.Equal(t, "open", st.State)
	assert.False(t, st.Allow)
	assert.Equal(t, ReasonConsecutiveFailures, st.Reason)
	require.NotNil(t, st.OpenedAt)
	require.NotNil(t, st.RetryAt)
	assert.Equal(t, 5*time.Second, st.RetryAt.Sub(*st.OpenedAt))
	assert.Positive(t, st.Baseline.LearnedCalls)
	assert.InDelta(t, 0.01, st.Baseline.LatencyP50Secs, 0.001)
	assert.Equal(t, int(runNeeded(st.Baseline.FailureRate, consecutiveChance, 5)), st.Thresholds.ConsecutiveFailures)
	assert.Greater(t, st.Thresholds.ConsecutiveFailures, 5, "a longer run at a learned 5%")
	assert.Equal(t, 20, st.Thresholds.MinCalls)
	assert.Equal(t, 10.0, st.Thresholds.WindowSecs)
	assert.Greater(t, st.Thresholds.FailureRate, st.Baseline.FailureRate)
	assert.Nil(t, st.HalfOpen)
	h.clock.Advance(5 * time.Second)
	h.Allow("pay")
	st = h.Status("pay", false)
	require.NotNil(t, st.HalfOpen)
	assert.Equal(t, 1, st.HalfOpen.Step)
	assert.Equal(t, 1.0, st.HalfOpen.Percent)
	assert.Equal(t, uint64(1), st.HalfOpen.Admitted)
}

func TestConcurrentUse(t *testing.T) {
	// For the race detector: every entry point at once on shared and distinct targets.
	h := newHarness(t, func(s *Settings) { s.MaxTargets = 32 })
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 2000; i++ {
				name := fmt.Sprintf("svc-%d", (g*31+i)%50)
				h.clock.Advance(ms)
				switch i % 7 {
				case 0:
					h.RecordOutcome(name, fail())
				case 1:
					h.RecordProbe(name, i%2 == 0)
				case 2:
					h.Allow(name)
				case 3:
					h.Status(name, true)
				case 4:
					_, _ = h.SetMode(name, Mode(i%4))
				case 5:
					if i%100 == 5 {
						h.List()
					}
				default:
					h.RecordOutcome(name, ok(ms))
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, h.Len(), 32)
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	h := newHarness(t)
	h.warm("pay", 120, 50, 20, 10*ms) // known, warm, a sketch with its bins in place
	h.openTarget(t, "down")
	// Steady traffic like the warm-up's, with its errors: no transition (whose subscriber, here
	// the harness, may allocate) happens during the run.
	outcomes := make([]breakerfeed.Outcome, 20)
	for j := range outcomes {
		outcomes[j] = ok(time.Duration(9+j%3) * ms)
	}
	outcomes[7] = fail()
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		h.clock.Advance(ms)
		h.RecordOutcome("pay", outcomes[i%len(outcomes)])
		h.Allow("pay")
		h.Allow("down")
		h.Allow("never-seen")
		h.State("pay")
	})
	assert.Zero(t, allocs)
	assert.Equal(t, breakerfeed.Closed, h.state("pay"))
	n := len(h.transitions())
	allocs = testing.AllocsPerRun(100, func() { h.RecordProbe("pay", true) })
	assert.Zero(t, allocs)
	assert.Len(t, h.transitions(), n, "no transition during the measured runs")
}

func TestRecordOutcomeAtTakesTheCallersTime(t *testing.T) {
	h := newHarness(t)
	at := epoch.Add(time.Hour) // the fake clock stays at epoch
	for range 20 {
		h.RecordOutcomeAt("payments", fail(), at)
	}
	require.Equal(t, breakerfeed.Open, h.state("payments"))
	assert.Equal(t, at, h.last().At, "the transition happened at the batch's time, not the clock's")

	// A batch read slightly earlier than one already recorded (concurrent batches) counts in
	// the current bucket.
	calls := h.Status("payments", false).Calls
	h.RecordOutcomeAt("payments", ok(ms), at.Add(-time.Millisecond))
	assert.Equal(t, calls+1, h.Status("payments", false).Calls)
}

func TestEvictionSparesOverridesAndOpenBreakers(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.MaxTargets = 4 })
	h.openTarget(t, "open")
	_, err := h.SetMode("forced", ModeForcedClosed)
	require.NoError(t, err)
	for i := 0; i < 50; i++ {
		h.clock.Advance(ms)
		h.RecordOutcome(fmt.Sprintf("churn-%d", i), ok(ms))
	}
	for _, name := range []string{"open", "forced"} {
		_, known := h.State(name)
		assert.True(t, known, "%s was evicted", name)
	}
	assert.LessOrEqual(t, h.Len(), 4)
	// With every tracked target pinned, a new name is refused rather than breaking the cap.
	_, err = h.SetMode("churn-49", ModeForcedOpen)
	require.NoError(t, err)
	_, err = h.SetMode("churn-48", ModeDisabled)
	require.NoError(t, err)
	_, err = h.SetMode("one-more", ModeForcedOpen)
	assert.ErrorIs(t, err, ErrTargetsFull)
	assert.Equal(t, 4, h.Len())
}

// RecordOutcomesAt is a run of RecordOutcomeAt calls under one lookup and one lock: fed the
// same outcomes at the same times, two registries go through the same transitions and end in
// the same state, also when one run holds more transitions than the events buffer.
func TestRecordOutcomesAtIsOneRecordEach(t *testing.T) {
	one, run := newHarness(t), newHarness(t)
	rng := rand.New(rand.NewPCG(1, 2))
	at := epoch
	for chunk := range 400 {
		at = at.Add(700 * ms)
		failing := chunk%100 >= 60 // 40 chunks of failures in every 100
		os := make([]breakerfeed.Outcome, 1+rng.IntN(150))
		for i := range os {
			os[i] = ok(time.Duration(5+rng.IntN(10)) * ms)
			if failing && rng.IntN(3) > 0 {
				os[i] = fail()
			}
			os[i].End = at.Add(-time.Duration(len(os)-i) * ms).UnixNano()
		}
		for _, o := range os {
			one.RecordOutcomeAt("pay", o, at)
		}
		run.RecordOutcomesAt("pay", os, at)
	}
	require.Greater(t, len(one.transitions()), 8, "the runs open and close the breaker")
	assert.Equal(t, one.transitions(), run.transitions())
	assert.Equal(t, one.Status("pay", false), run.Status("pay", false))

	// One run that opens, half-opens and closes the breaker six times at one time: 18
	// transitions, emitted as the events buffer fills.
	var os []breakerfeed.Outcome
	for range 6 {
		for range 40 {
			os = append(os, fail())
		}
		for range 100 {
			os = append(os, ok(10*ms))
		}
	}
	at = at.Add(time.Minute)
	n := len(run.transitions())
	for _, o := range os {
		one.RecordOutcomeAt("pay", o, at)
	}
	run.RecordOutcomesAt("pay", os, at)
	require.Len(t, run.transitions(), n+18)
	assert.Equal(t, one.transitions(), run.transitions())
	assert.Equal(t, one.Status("pay", false), run.Status("pay", false))

	// An invalid name drops every outcome of the run; an empty run creates nothing.
	run.RecordOutcomesAt("bad\nname", make([]breakerfeed.Outcome, 5), at)
	assert.Equal(t, one.Dropped()+5, run.Dropped())
	run.RecordOutcomesAt("quiet", nil, at)
	_, known := run.State("quiet")
	assert.False(t, known)
}
