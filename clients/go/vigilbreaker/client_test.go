package vigilbreaker

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a monotonic clock the test moves.
type fakeClock struct{ t atomic.Int64 }

func (f *fakeClock) now() int64          { return f.t.Load() }
func (f *fakeClock) add(d time.Duration) { f.t.Add(int64(d)) }
func newLocal(t *testing.T, cfg Config) (*Client, *fakeClock) {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	clk := &fakeClock{}
	clk.t.Store(int64(time.Hour))
	c.now = clk.now
	return c, clk
}

// call asks for a call to target and reports o if allowed.
func call(c *Client, target string, o Outcome) bool {
	p, ok := c.Allow(target)
	if ok {
		p.Done(o)
	}
	return ok
}

// learnHealthy teaches target a failure rate of fails/calls per tick over n ticks.
func learnHealthy(c *Client, target string, calls, fails, ticks int) {
	for range ticks {
		// Failures spread out: this is noise, not a run.
		for i := range calls {
			o := Success
			if fails > 0 && i%(calls/fails) == 0 {
				o = Failure
			}
			call(c, target, o)
		}
		e := (*c.targets.Load())[target]
		e.learn(1, c)
	}
}

func TestLocalTripsOnRunOfFailuresAfterLearning(t *testing.T) {
	c, _ := newLocal(t, Config{})
	learnHealthy(c, "checkout", 100, 1, 30) // 1% errors
	for i := 1; i <= 5; i++ {
		if !call(c, "checkout", Failure) {
			t.Fatalf("call %d refused before the run of 5 failures completed", i)
		}
	}
	if call(c, "checkout", Success) {
		t.Fatal("allowed after 5 failures in a row at a learned 1% error rate")
	}
	if st, _ := c.State("checkout"); st != Open {
		t.Fatalf("state %v, want open", st)
	}
	if got := c.Stats().LocalOpens; got != 1 {
		t.Fatalf("LocalOpens %d, want 1", got)
	}
}

func TestNewTargetNeedsTheRunOfTheDefaultPrior(t *testing.T) {
	c, _ := newLocal(t, Config{})
	// Nothing learned: the prior is 10% errors, so a run of 8 (0.1^8 <= 5e-8) opens.
	for i := 1; i <= 8; i++ {
		if !call(c, "new", Failure) {
			t.Fatalf("refused at failure %d, want open only after 8", i)
		}
	}
	if call(c, "new", Failure) {
		t.Fatal("allowed after 8 failures in a row")
	}
}

func TestNoisyTargetNeedsLongerRun(t *testing.T) {
	c, _ := newLocal(t, Config{})
	learnHealthy(c, "noisy", 100, 20, 120) // 20% errors, learned
	e := (*c.targets.Load())["noisy"]
	if got := e.needed.Load(); got != 11 {
		t.Fatalf("run needed at 20%% errors = %d, want 11 (0.2^11 <= 5e-8)", got)
	}
	for i := 1; i <= 10; i++ {
		if !call(c, "noisy", Failure) {
			t.Fatalf("refused after %d failures at a learned 20%%", i)
		}
	}
}

func TestOutageIsNotLearned(t *testing.T) {
	c, _ := newLocal(t, Config{})
	learnHealthy(c, "svc", 100, 1, 30)
	e := (*c.targets.Load())["svc"]
	before := e.learnedFails / e.learnedCalls
	// A tick of 50% failures spread out (no run) is an incident, not noise: not learned.
	for i := range 100 {
		o := Success
		if i%2 == 0 {
			o = Failure
		}
		call(c, "svc", o)
	}
	e.learn(1, c)
	if after := e.learnedFails / e.learnedCalls; after != before {
		t.Fatalf("learned rate moved from %.4f to %.4f on an incident tick", before, after)
	}
}

func TestTrialAfterBackoffClosesOnSuccess(t *testing.T) {
	c, clk := newLocal(t, Config{OpenInitial: time.Second, OpenMax: 4 * time.Second})
	learnHealthy(c, "svc", 100, 0, 30)
	for range 5 {
		call(c, "svc", Failure)
	}
	clk.add(999 * time.Millisecond)
	if call(c, "svc", Success) {
		t.Fatal("trial before the 1 s backoff")
	}
	clk.add(time.Millisecond)
	p, ok := c.Allow("svc")
	if !ok {
		t.Fatal("no trial after the backoff")
	}
	if _, ok := c.Allow("svc"); ok {
		t.Fatal("a second call went while the trial is out")
	}
	p.Done(Success)
	if !call(c, "svc", Success) {
		t.Fatal("refused after a passing trial")
	}
	if st, _ := c.State("svc"); st != Closed {
		t.Fatalf("state %v after a passing trial, want closed", st)
	}
}

func TestFailedTrialsDoubleBackoffUpToMax(t *testing.T) {
	c, clk := newLocal(t, Config{OpenInitial: time.Second, OpenMax: 4 * time.Second})
	learnHealthy(c, "svc", 100, 0, 30)
	for range 5 {
		call(c, "svc", Failure)
	}
	for _, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		clk.add(wait - time.Millisecond)
		if call(c, "svc", Failure) {
			t.Fatalf("trial before %s", wait)
		}
		clk.add(time.Millisecond)
		if !call(c, "svc", Failure) {
			t.Fatalf("no trial after %s", wait)
		}
	}
}

func TestLostTrialIsReplacedAfterTrialTimeout(t *testing.T) {
	c, clk := newLocal(t, Config{TrialTimeout: 3 * time.Second})
	learnHealthy(c, "svc", 100, 0, 30)
	for range 5 {
		call(c, "svc", Failure)
	}
	clk.add(time.Second)
	if _, ok := c.Allow("svc"); !ok { // never reported
		t.Fatal("no trial")
	}
	clk.add(2 * time.Second)
	if _, ok := c.Allow("svc"); ok {
		t.Fatal("second trial while the first is out")
	}
	clk.add(time.Second)
	if _, ok := c.Allow("svc"); !ok {
		t.Fatal("no new trial after TrialTimeout")
	}
}

func TestIgnoredOutcomeCountsNeitherWay(t *testing.T) {
	c, _ := newLocal(t, Config{})
	learnHealthy(c, "svc", 100, 0, 30)
	for range 4 {
		call(c, "svc", Failure)
	}
	for range 10 {
		call(c, "svc", Ignored)
	}
	call(c, "svc", Failure)
	if call(c, "svc", Success) {
		t.Fatal("ignored outcomes broke the run of failures")
	}
}

// remote applies a transition event as the stream would.
func remote(t *testing.T, c *Client, target, to, mode string, at time.Time, retry *time.Time) {
	t.Helper()
	retryJSON := ""
	if retry != nil {
		retryJSON = fmt.Sprintf(`,"retry_at":%q`, retry.Format(time.RFC3339Nano))
	}
	c.applyTransition([]byte(fmt.Sprintf(`{"target":%q,"from":"closed","to":%q,"at":%q,"mode":%q,"reason":"test","counts":{"slow_threshold_seconds":0.1}%s}`,
		target, to, at.Format(time.RFC3339Nano), mode, retryJSON)))
}

func TestRemoteForcedOpenAndClosed(t *testing.T) {
	c, _ := newLocal(t, Config{})
	c.stale.Store(false)
	call(c, "svc", Success) // track it
	now := time.Now()
	remote(t, c, "svc", "forced_open", "forced_open", now, nil)
	if call(c, "svc", Success) {
		t.Fatal("allowed under forced_open")
	}
	remote(t, c, "svc", "forced_closed", "forced_closed", now.Add(time.Millisecond), nil)
	for range 20 {
		if !call(c, "svc", Failure) {
			t.Fatal("refused under forced_closed")
		}
	}
	remote(t, c, "svc", "closed", "auto", now.Add(2*time.Millisecond), nil)
	if !call(c, "svc", Success) {
		t.Fatal("refused back in auto")
	}
	// An older event does not undo a newer one.
	remote(t, c, "svc", "forced_open", "forced_open", now, nil)
	if !call(c, "svc", Success) {
		t.Fatal("an older forced_open event applied over a newer auto")
	}
}

func TestRemoteOpenThenTrialWalksRamp(t *testing.T) {
	c, clk := newLocal(t, Config{OpenInitial: time.Second, HalfOpenSteps: []float64{10, 100}, SuccessesPerStep: 3})
	c.stale.Store(false)
	call(c, "svc", Success)
	retry := time.Now().Add(time.Minute)
	remote(t, c, "svc", "open", "auto", time.Now(), &retry)
	if call(c, "svc", Success) {
		t.Fatal("allowed while Vigil says open")
	}
	clk.add(time.Second)
	p, ok := c.Allow("svc")
	if !ok {
		t.Fatal("no trial after OpenInitial although Vigil's retry_at is a minute away")
	}
	p.Done(Success)
	if st, _ := c.State("svc"); st != HalfOpen {
		t.Fatalf("state %v after a passing trial under a remote open, want half_open", st)
	}
	// The trial counts as the step's first success; at 10% the first decision goes, the
	// next nine do not, the eleventh does and ends the step with the third success.
	admitted := 0
	for range 10 {
		if call(c, "svc", Success) {
			admitted++
		}
	}
	if admitted != 1 {
		t.Fatalf("admitted %d of 10 at 10%%, want 1", admitted)
	}
	for range 10 {
		call(c, "svc", Success)
	}
	// Step 2 is 100%: all go, and it ends after 2 successes; then closed.
	for range 3 {
		if !call(c, "svc", Success) {
			t.Fatal("refused at the 100% step")
		}
	}
	if st, _ := c.State("svc"); st != Closed {
		t.Fatalf("state %v after the ramp, want closed", st)
	}
}

func TestSlowTrialDoesNotPass(t *testing.T) {
	c, clk := newLocal(t, Config{OpenInitial: time.Second})
	c.stale.Store(false)
	call(c, "svc", Success)
	retry := time.Now().Add(time.Minute)
	remote(t, c, "svc", "open", "auto", time.Now(), &retry) // slow threshold 100 ms
	clk.add(time.Second)
	p, ok := c.Allow("svc")
	if !ok {
		t.Fatal("no trial")
	}
	clk.add(300 * time.Millisecond)
	p.Done(Success)
	if st, _ := c.State("svc"); st != Open {
		t.Fatalf("state %v after a 300 ms trial over a 100 ms slow threshold, want open", st)
	}
}

func TestRemoteHalfOpenAdmitsShare(t *testing.T) {
	c, _ := newLocal(t, Config{HalfOpenSteps: []float64{10, 100}, SuccessesPerStep: 1000})
	c.stale.Store(false)
	call(c, "svc", Success)
	remote(t, c, "svc", "half_open", "auto", time.Now(), nil)
	admitted := 0
	for range 100 {
		if p, ok := c.Allow("svc"); ok {
			admitted++
			p.Done(Ignored)
		}
	}
	if admitted != 10 {
		t.Fatalf("admitted %d of 100 at 10%%, want 10", admitted)
	}
}

func TestStaleVerdictsAreDropped(t *testing.T) {
	c, _ := newLocal(t, Config{})
	c.stale.Store(false)
	call(c, "svc", Success)
	remote(t, c, "svc", "forced_open", "forced_open", time.Now(), nil)
	c.dropVerdicts()
	if !call(c, "svc", Success) {
		t.Fatal("refused on a dropped verdict")
	}
}

func TestUntrackedPastCapAndInvalidNames(t *testing.T) {
	c, _ := newLocal(t, Config{MaxTargets: 2})
	for _, n := range []string{"a", "b", "c", "", "bad\x00name", strings.Repeat("x", 300)} {
		if !call(c, n, Failure) {
			t.Fatalf("refused untracked target %q", n)
		}
	}
	if s := c.Stats(); s.Targets != 2 || s.Untracked != 4 {
		t.Fatalf("targets %d untracked %d, want 2 and 4", s.Targets, s.Untracked)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Endpoint: "localhost:13180"}, "Endpoint"},
		{Config{Caller: "a\nb"}, "Caller"},
		{Config{ConsecutiveFailures: -1}, "ConsecutiveFailures"},
		{Config{OpenInitial: 5 * time.Second, OpenMax: time.Second}, "OpenMax"},
		{Config{HalfOpenSteps: []float64{50, 20, 100}}, "HalfOpenSteps[1]"},
		{Config{HalfOpenSteps: []float64{10, 50}}, "must end at 100"},
		{Config{MaxStale: -time.Second}, "MaxStale"},
		{Config{ReconnectMin: 10 * time.Second, ReconnectMax: time.Second}, "ReconnectMax"},
		{Config{MaxTargets: -1}, "MaxTargets"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
}

func TestOutcomeOf(t *testing.T) {
	if OutcomeOf(nil) != Success || OutcomeOf(errors.New("x")) != Failure ||
		OutcomeOf(fmt.Errorf("w: %w", errContextCanceled())) != Ignored {
		t.Fatal("OutcomeOf misclassifies")
	}
}

func TestNeededRun(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want int
	}{{0, 5}, {0.01, 5}, {0.05, 6}, {0.1, 8}, {0.2, 11}, {1, maxRun}} {
		if got := neededRun(5, tc.rate); got != tc.want {
			t.Errorf("neededRun(5, %g) = %d, want %d", tc.rate, got, tc.want)
		}
	}
}

func TestCallerViewLayersOnFleet(t *testing.T) {
	c, _ := newLocal(t, Config{Caller: "frontend"})
	c.stale.Store(false)
	call(c, "svc", Success)
	at := time.Now().UTC().Format(time.RFC3339Nano)
	retry := time.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano)
	ev := func(caller, to string) {
		c.applyTransition([]byte(fmt.Sprintf(`{"target":"svc","caller":%q,"from":"closed","to":%q,"at":%q,"mode":"auto","reason":"test","counts":{},"retry_at":%q}`, caller, to, at, retry)))
	}
	ev("cart", "open")
	if !call(c, "svc", Success) {
		t.Fatal("another caller's own view refused this caller")
	}
	ev("frontend", "open")
	if call(c, "svc", Success) {
		t.Fatal("this caller's own view is open, yet allowed")
	}
	if st, _ := c.State("svc"); st != Open {
		t.Fatalf("state %v, want open", st)
	}
}

func TestRemoteHalfOpenAfterLocalRecoveryActsClosed(t *testing.T) {
	c, clk := newLocal(t, Config{OpenInitial: time.Second, HalfOpenSteps: []float64{100}, SuccessesPerStep: 1})
	c.stale.Store(false)
	call(c, "svc", Success)
	retry := time.Now().Add(time.Minute)
	remote(t, c, "svc", "open", "auto", time.Now(), &retry)
	clk.add(time.Second)
	if !call(c, "svc", Success) { // the trial passes, and completes the one-step ramp
		t.Fatal("no trial")
	}
	if st, _ := c.State("svc"); st != Closed {
		t.Fatalf("state %v after the ramp, want closed", st)
	}
	// Vigil's own backoff ends later: its half-open is old news to this client.
	remote(t, c, "svc", "half_open", "auto", time.Now().Add(time.Second), nil)
	for range 20 {
		if !call(c, "svc", Success) {
			t.Fatal("refused after Vigil's half-open although this client saw the recovery through")
		}
	}
	// A new opening starts over.
	remote(t, c, "svc", "open", "auto", time.Now().Add(2*time.Second), &retry)
	if call(c, "svc", Success) {
		t.Fatal("allowed after a new opening")
	}
}

func TestNoisyRampNeedsARunOfFailures(t *testing.T) {
	c, _ := newLocal(t, Config{HalfOpenSteps: []float64{100}, SuccessesPerStep: 1000})
	c.stale.Store(false)
	learnHealthy(c, "noisy", 100, 20, 120) // 20%: a ramp re-opens on 5 failures in a row
	remote(t, c, "noisy", "half_open", "auto", time.Now(), nil)
	for i := 1; i <= 4; i++ {
		if !call(c, "noisy", Failure) {
			t.Fatalf("ramp call %d refused: 4 failures in a row at a learned 20%% are noise", i)
		}
	}
	call(c, "noisy", Failure)
	if st, _ := c.State("noisy"); st != Open {
		t.Fatalf("state %v after 5 failed ramp calls in a row, want open", st)
	}
	e := (*c.targets.Load())["noisy"]
	e.mu.Lock()
	defer e.mu.Unlock()
	if got := e.rampRun(); got != 5 {
		t.Fatalf("rampRun at 20%% = %d, want 5", got)
	}
}

func TestVigilSeeingTheTargetAnswerBringsTheTrialForward(t *testing.T) {
	for _, first := range []bool{true, false} {
		t.Run(fmt.Sprintf("answering half-open first: %v", first), func(t *testing.T) {
			c, clk := newLocal(t, Config{OpenInitial: 4 * time.Second})
			c.stale.Store(false)
			learnHealthy(c, "svc", 100, 0, 30)
			for range 5 {
				call(c, "svc", Failure)
			}
			clk.add(time.Second)
			n := 0
			ev := func(reason string) {
				n++
				at := time.Now().Add(time.Duration(n) * time.Second).UTC().Format(time.RFC3339Nano)
				c.applyTransition([]byte(fmt.Sprintf(`{"target":"svc","from":"open","to":"half_open","at":%q,"mode":"auto","reason":%q,"counts":{}}`, at, reason)))
			}
			if !first {
				ev("backoff_elapsed") // no evidence: the local backoff holds
				if call(c, "svc", Success) {
					t.Fatal("a trial before the local backoff on a half-open without evidence")
				}
			}
			ev("probe_passed")
			if !call(c, "svc", Success) {
				t.Fatal("no trial after Vigil saw a probe pass")
			}
		})
	}
}
