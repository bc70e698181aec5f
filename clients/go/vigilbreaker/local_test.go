package vigilbreaker

import (
	"fmt"
	"testing"
	"time"
)

// callTook makes one call to target that takes d on the test's clock and succeeds.
func callTook(c *Client, clk *fakeClock, target string, d time.Duration) bool {
	p, ok := c.Allow(target)
	if ok {
		clk.add(d)
		p.Done(Success)
	}
	return ok
}

// learnLatency teaches target a latency of d over ticks of n calls.
func learnLatency(c *Client, clk *fakeClock, target string, d time.Duration, n, ticks int) *entry {
	for range ticks {
		for range n {
			callTook(c, clk, target, d)
		}
		(*c.targets.Load())[target].learn(1, c)
	}
	return (*c.targets.Load())[target]
}

// Calls in flight when an outage starts answer late, and successfully: a success of a call that
// started before the run of failures began says nothing about it and does not end it; one that
// started after does.
func TestSuccessStartedBeforeTheRunDoesNotEndIt(t *testing.T) {
	for _, after := range []bool{false, true} {
		t.Run(fmt.Sprintf("success started after the first failure: %v", after), func(t *testing.T) {
			c, clk := newLocal(t, Config{})
			learnHealthy(c, "svc", 100, 1, 30)
			var inFlight []Permit
			for range 3 {
				p, _ := c.Allow("svc")
				inFlight = append(inFlight, p)
			}
			clk.add(time.Millisecond)
			call(c, "svc", Failure)
			call(c, "svc", Failure)
			if after {
				p, _ := c.Allow("svc")
				inFlight = append(inFlight[:0], p)
			}
			for _, p := range inFlight {
				p.Done(Success)
			}
			for range 3 {
				call(c, "svc", Failure)
			}
			if st, _ := c.State("svc"); (st == Open) == after {
				t.Fatalf("state %v after 5 failures, with successes that started after the run began: %v", st, after)
			}
		})
	}
}

func TestLocalSlowCallsOpen(t *testing.T) {
	c, clk := newLocal(t, Config{})
	e := learnLatency(c, clk, "svc", 20*time.Millisecond, 100, 30)
	thr := time.Duration(e.slowNanos.Load())
	if thr < 30*time.Millisecond || thr > 40*time.Millisecond {
		t.Fatalf("slow threshold %s after learning 20 ms, want 1.5 × p95 (30-40 ms with the buckets' width)", thr)
	}
	// A pause of the host delays many calls together: slow, but not a second long.
	var paused []Permit
	for range 20 {
		p, _ := c.Allow("svc")
		paused = append(paused, p)
	}
	clk.add(500 * time.Millisecond)
	for _, p := range paused {
		p.Done(Success)
	}
	if st, _ := c.State("svc"); st != Closed {
		t.Fatalf("state %v after 20 calls delayed together by a pause, want closed", st)
	}
	callTook(c, clk, "svc", 20*time.Millisecond) // a fast call ends that run
	// The service slows down to 300 ms: the run opens once it spans a second (its 5th call).
	for i := 1; i <= 5; i++ {
		if !callTook(c, clk, "svc", 300*time.Millisecond) {
			t.Fatalf("slow call %d refused, want open after the 5th", i)
		}
	}
	if callTook(c, clk, "svc", 300*time.Millisecond) {
		t.Fatal("allowed after a second of slow calls")
	}
	if s := c.Stats(); s.LocalOpens != 1 || s.LocalSlowOpens != 1 {
		t.Fatalf("local opens %d, on slow calls %d; want 1 and 1", s.LocalOpens, s.LocalSlowOpens)
	}
	// A trial as slow as the calls that opened it does not pass; a fast one does.
	clk.add(time.Second)
	if !callTook(c, clk, "svc", 300*time.Millisecond) {
		t.Fatal("no trial after OpenInitial")
	}
	if st, _ := c.State("svc"); st != Open {
		t.Fatalf("state %v after a slow trial, want open", st)
	}
	clk.add(2 * time.Second)
	if !callTook(c, clk, "svc", 20*time.Millisecond) {
		t.Fatal("no trial after the doubled backoff")
	}
	if st, _ := c.State("svc"); st != Closed {
		t.Fatalf("state %v after a fast trial, want closed", st)
	}
}

func TestSlowTickIsNotLearned(t *testing.T) {
	c, clk := newLocal(t, Config{})
	e := learnLatency(c, clk, "svc", 20*time.Millisecond, 100, 30)
	before := e.slowNanos.Load()
	// Half the calls of a tick slow, spread out (no run): an incident, not what is normal.
	for i := range 100 {
		d := 20 * time.Millisecond
		if i%2 == 0 {
			d = 300 * time.Millisecond
		}
		callTook(c, clk, "svc", d)
	}
	e.learn(1, c)
	if after := e.slowNanos.Load(); after != before {
		t.Fatalf("slow threshold moved from %d to %d on an incident tick", before, after)
	}
}

// While Vigil's verdict is open and its probe of the target fails, trials are sparse; the
// probe's pass brings the next one forward.
func TestFailingProbeMakesTrialsSparse(t *testing.T) {
	c, clk := newLocal(t, Config{OpenInitial: time.Second, ProbedTrialInterval: 15 * time.Second})
	c.stale.Store(false)
	learnHealthy(c, "svc", 100, 0, 30)
	for range 5 {
		call(c, "svc", Failure)
	}
	at := time.Now()
	ev := func(to, reason, probe string) {
		at = at.Add(time.Second)
		c.applyTransition([]byte(fmt.Sprintf(`{"target":"svc","from":"closed","to":%q,"at":%q,"mode":"auto","reason":%q,"counts":{"probe":%q}}`,
			to, at.UTC().Format(time.RFC3339Nano), reason, probe)))
	}
	ev("open", "consecutive_failures", "failing")
	clk.add(time.Second)
	if !call(c, "svc", Failure) {
		t.Fatal("no first trial after OpenInitial")
	}
	clk.add(4 * time.Second)
	if call(c, "svc", Success) {
		t.Fatal("a trial 4 s after a failed one while the probe says down, want 15 s")
	}
	clk.add(11 * time.Second)
	if !call(c, "svc", Failure) {
		t.Fatal("no trial after ProbedTrialInterval")
	}
	clk.add(time.Second)
	ev("half_open", "probe_passed", "passing")
	if !call(c, "svc", Success) {
		t.Fatal("no trial at once after the probe passed")
	}
}
