package breaker

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var epoch = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// harness is a registry on a fake clock that remembers every transition it emitted.
type harness struct {
	*Registry
	clock *Fake
	mu    sync.Mutex
	trs   []Transition
}

// newHarness returns a registry with the default settings, jitter fixed at its midpoint
// (so backoffs are exact), changed by opts.
func newHarness(t testing.TB, opts ...func(*Settings)) *harness {
	t.Helper()
	s := DefaultSettings()
	s.Rand = func() float64 { return 0.5 }
	for _, o := range opts {
		o(&s)
	}
	h := &harness{clock: NewFake(epoch)}
	h.Registry = New(s, h.clock, func(tr Transition) {
		h.mu.Lock()
		h.trs = append(h.trs, tr)
		h.mu.Unlock()
	})
	return h
}

func (h *harness) transitions() []Transition {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Transition(nil), h.trs...)
}

func (h *harness) last() Transition {
	trs := h.transitions()
	if len(trs) == 0 {
		return Transition{}
	}
	return trs[len(trs)-1]
}

func (h *harness) state(name string) breakerfeed.State {
	s, _ := h.State(name)
	return s
}

// feed records n outcomes of class c and latency lat, spaced by gap.
func (h *harness) feed(name string, n int, c breakerfeed.Class, lat, gap time.Duration) {
	for i := 0; i < n; i++ {
		h.clock.Advance(gap)
		h.RecordOutcome(name, breakerfeed.Outcome{Class: c, Latency: lat})
	}
}

func ok(lat time.Duration) breakerfeed.Outcome {
	return breakerfeed.Outcome{Class: breakerfeed.Success, Latency: lat}
}

func fail() breakerfeed.Outcome { return breakerfeed.Outcome{Class: breakerfeed.Error} }

// openTarget drives name into the open state with as many consecutive failures as its
// baseline needs.
func (h *harness) openTarget(t testing.TB, name string) {
	t.Helper()
	h.RecordOutcome(name, ok(time.Millisecond))
	tg := h.target(name)
	tg.mu.Lock()
	need := int(tg.consecutiveNeeded - tg.consecutive)
	tg.mu.Unlock()
	h.feed(name, need, breakerfeed.Error, time.Millisecond, time.Millisecond)
	if st := h.state(name); st != breakerfeed.Open {
		t.Fatalf("%s: want open after consecutive failures, got %s", name, st)
	}
}

// backoffElapsed opens name and lets its backoff (5 s by default) elapse: its next call starts
// the half-open ramp.
func (h *harness) backoffElapsed(t testing.TB, name string) {
	t.Helper()
	h.openTarget(t, name)
	h.clock.Advance(5 * time.Second)
}

// trial is backoffElapsed, then the call that starts the ramp, which must be admitted.
func (h *harness) trial(t testing.TB, name string) {
	t.Helper()
	h.backoffElapsed(t, name)
	if !h.Allow(name) {
		t.Fatalf("%s: the call that starts the ramp is refused", name)
	}
}

// healthy teaches name twenty minutes of error-free traffic at 10 calls/s, so its baseline is
// near zero: a run of the configured 5 opens, and one failure re-opens from half-open.
func (h *harness) healthy(t testing.TB, name string) {
	t.Helper()
	h.feed(name, 12000, breakerfeed.Success, time.Millisecond, 100*time.Millisecond)
	tg := h.target(name)
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.consecutiveNeeded != uint64(h.settings.ConsecutiveFailures) || tg.base.halfOpenRun(&h.settings) != 1 {
		t.Fatalf("%s: not healthy enough: run %d, half-open run %d", name, tg.consecutiveNeeded, tg.base.halfOpenRun(&h.settings))
	}
}

// internal returns the target's state under its lock, for white-box checks.
func (h *harness) target(name string) *target { return h.lookup(name) }
