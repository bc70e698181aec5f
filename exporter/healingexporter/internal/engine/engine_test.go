package engine

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/audit"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func settings() Settings {
	return Settings{
		Rules: []Rule{
			{Name: "restart", For: 30 * time.Second, Cooldown: 10 * time.Minute, Actions: []string{"restart", "page"}, EscalateAfter: 2},
			{Name: "disk", Actions: []string{"clean"}, EscalateAfter: 1},
		},
		Global: Rate{PerMinute: 600, Burst: 100}, PerAction: Rate{PerMinute: 600, Burst: 100}, PerTarget: Rate{PerMinute: 600, Burst: 100},
		MaxPerTargetPerHour: 100,
		BackoffInitial:      10 * time.Second, BackoffMax: 300 * time.Second, BackoffMultiplier: 2, BackoffResetAfter: 10 * time.Minute,
		MaxIncidents: 1000, QueueSize: 100, ResolveTimeout: 5 * time.Minute,
		ResolvableActions: map[string]bool{"page": true, "restart": true},
	}
}

// memLog is an audit writer kept in memory.
type memLog struct {
	recs []audit.Record
	fail bool
}

func (m *memLog) Write(recs ...*audit.Record) error {
	if m.fail {
		return errors.New("disk full")
	}
	for _, r := range recs {
		m.recs = append(m.recs, *r)
	}
	return nil
}

func (m *memLog) decisions() []string {
	var out []string
	for _, r := range m.recs {
		d := r.Decision
		if r.Reason != "" {
			d += "(" + r.Reason + ")"
		}
		out = append(out, d)
	}
	return out
}

func newEngine(t *testing.T, s Settings) (*Engine, *memLog) {
	t.Helper()
	m := &memLog{}
	e, err := New(s, m, nil, t0)
	require.NoError(t, err)
	return e, m
}

// pendingEngine is an engine holding at most maxIncidents whose rule 0 stays pending (for: 1h).
func pendingEngine(t *testing.T, maxIncidents int) (*Engine, *memLog) {
	t.Helper()
	s := settings()
	s.MaxIncidents = maxIncidents
	s.Rules[0].For = time.Hour
	return newEngine(t, s)
}

func firing(rule int, target string) []Observation {
	return []Observation{{Rule: rule, Target: target, Holds: true, Value: 1}}
}

func clear(rule int, target string) []Observation {
	return []Observation{{Rule: rule, Target: target, Holds: false}}
}

func observe(t *testing.T, e *Engine, at time.Time, obs []Observation) []Dispatch {
	t.Helper()
	d, err := e.Observe(at, obs)
	require.NoError(t, err)
	return d
}

func TestForDelaysFiring(t *testing.T) {
	e, m := newEngine(t, settings())
	assert.Empty(t, observe(t, e, t0, firing(0, "api")))
	assert.Empty(t, observe(t, e, t0.Add(29*time.Second), firing(0, "api")))
	assert.Empty(t, m.recs, "pending is not a decision")
	d := observe(t, e, t0.Add(30*time.Second), firing(0, "api"))
	require.Len(t, d, 1)
	assert.Equal(t, "restart", d[0].Action)
	assert.Equal(t, []string{"fired", "executing"}, m.decisions())

	// A clear before `for` forgets the pending incident.
	observe(t, e, t0, firing(0, "db"))
	observe(t, e, t0.Add(10*time.Second), clear(0, "db"))
	assert.Empty(t, observe(t, e, t0.Add(35*time.Second), firing(0, "db")), "pending again from the start")
}

func TestOneExecutionPerIncident(t *testing.T) {
	e, m := newEngine(t, settings())
	d := observe(t, e, t0, firing(1, "host-1"))
	require.Len(t, d, 1)
	assert.Empty(t, observe(t, e, t0.Add(time.Second), firing(1, "host-1")))
	require.NoError(t, e.Complete(t0.Add(2*time.Second), d[0], nil, "ok"))
	for i := range 5 {
		assert.Empty(t, observe(t, e, t0.Add(time.Duration(3+i)*time.Second), firing(1, "host-1")))
	}
	assert.Equal(t, []string{"fired", "executing", "suppressed(in_flight)", "executed",
		"suppressed(dedup)", "suppressed(dedup)", "suppressed(dedup)", "suppressed(dedup)", "suppressed(dedup)"}, m.decisions())
}

func TestResolveSendsResolvesAndCooldownHolds(t *testing.T) {
	s := settings()
	s.Rules[0].For = 0
	e, m := newEngine(t, s)
	d := observe(t, e, t0, firing(0, "api"))
	require.Len(t, d, 1)
	require.NoError(t, e.Complete(t0.Add(time.Second), d[0], nil, ""))
	res := observe(t, e, t0.Add(time.Minute), clear(0, "api"))
	require.Len(t, res, 1)
	assert.True(t, res[0].Resolve)
	assert.Equal(t, d[0].Incident, res[0].Incident)
	require.NoError(t, e.Complete(t0.Add(61*time.Second), res[0], nil, ""))

	// Fires again within the 10 min cooldown: a new incident, suppressed.
	assert.Empty(t, observe(t, e, t0.Add(2*time.Minute), firing(0, "api")))
	// After the cooldown it acts.
	assert.Len(t, observe(t, e, t0.Add(11*time.Minute), firing(0, "api")), 1)
	assert.Equal(t, []string{"fired", "executing", "executed", "resolved(cleared)", "executed(resolve)",
		"fired", "suppressed(cooldown)", "executing"}, m.decisions())
}

func TestPerTargetBackoffDoublesAndResets(t *testing.T) {
	s := settings()
	s.Rules = []Rule{{Name: "r", Actions: []string{"fix"}, EscalateAfter: 1}}
	e, _ := newEngine(t, s)
	at := t0
	var gaps []time.Duration
	last := t0
	// Flap: fire, act, clear, every second; record when actions actually run.
	for i := 0; i < 2000; i++ {
		at = t0.Add(time.Duration(i) * time.Second)
		obs := firing(0, "svc")
		if i%2 == 1 {
			obs = clear(0, "svc")
		}
		for _, d := range observe(t, e, at, obs) {
			require.NoError(t, e.Complete(at, d, nil, ""))
			if !d.Resolve {
				gaps = append(gaps, at.Sub(last))
				last = at
			}
		}
	}
	require.GreaterOrEqual(t, len(gaps), 7)
	// 0 (first), then ≥ 10 s, 20 s, 40 s, 80 s, 160 s, 300 s, 300 s...
	want := []time.Duration{0, 10, 20, 40, 80, 160, 300, 300}
	for i, w := range want {
		assert.GreaterOrEqual(t, gaps[i], w*time.Second, "gap %d", i)
		assert.Less(t, gaps[i], w*time.Second+3*time.Second, "gap %d", i)
	}

	// Ten healthy minutes reset the backoff.
	at = at.Add(11 * time.Minute)
	d := observe(t, e, at, firing(0, "svc"))
	require.Len(t, d, 1)
	require.NoError(t, e.Complete(at, d[0], nil, ""))
	observe(t, e, at.Add(time.Second), clear(0, "svc"))
	assert.Empty(t, observe(t, e, at.Add(5*time.Second), firing(0, "svc")), "backoff 10 s again")
	assert.Len(t, observe(t, e, at.Add(11*time.Second), firing(0, "svc")), 1)
}

func TestFailuresEscalate(t *testing.T) {
	s := settings()
	s.Rules[0].For, s.Rules[0].Cooldown = 0, 0
	s.BackoffInitial, s.BackoffMax = time.Second, time.Second
	e, m := newEngine(t, s)
	at := t0
	var ran []string
	for i := 0; i < 6; i++ {
		at = at.Add(2 * time.Second)
		for _, d := range observe(t, e, at, firing(0, "api")) {
			ran = append(ran, d.Action)
			require.NoError(t, e.Complete(at, d, errors.New("exit status 1"), "boom"))
		}
	}
	assert.Equal(t, []string{"restart", "restart", "page", "page", "page", "page"}, ran, "two failed restarts, then the page; a failing page is retried")
	assert.Contains(t, m.decisions(), "failed")
}

func TestHourlyCapEscalates(t *testing.T) {
	s := settings()
	s.Rules[0].For, s.Rules[0].Cooldown = 0, 0
	s.MaxPerTargetPerHour = 2
	s.BackoffInitial, s.BackoffMax = time.Second, time.Second
	e, m := newEngine(t, s)
	var ran []string
	at := t0
	for i := 0; i < 4; i++ { // four incidents in an hour
		at = at.Add(5 * time.Minute)
		for _, d := range observe(t, e, at, firing(0, "api")) {
			ran = append(ran, d.Action)
			require.NoError(t, e.Complete(at, d, nil, ""))
		}
		for _, d := range observe(t, e, at.Add(time.Minute), clear(0, "api")) {
			require.NoError(t, e.Complete(at, d, nil, ""))
		}
	}
	assert.Equal(t, []string{"restart", "restart", "page", "page"}, ran)
	assert.Contains(t, m.decisions(), "suppressed(max_per_target_per_hour)")
}

func TestRateLimits(t *testing.T) {
	s := settings()
	s.Rules[1].Cooldown = 0
	s.Global = Rate{PerMinute: 60, Burst: 3}
	e, m := newEngine(t, s)
	var obs []Observation
	for i := 0; i < 10; i++ {
		obs = append(obs, firing(1, string(rune('a'+i)))...)
	}
	d := observe(t, e, t0, obs)
	assert.Len(t, d, 3, "global burst")
	n := 0
	for _, x := range m.decisions() {
		if x == "suppressed(rate_limit:global)" {
			n++
		}
	}
	assert.Equal(t, 7, n)
	// One token a second comes back.
	assert.Len(t, observe(t, e, t0.Add(1100*time.Millisecond), obs), 1)

	s = settings()
	s.PerTarget = Rate{PerMinute: 1, Burst: 1}
	s.BackoffInitial, s.BackoffMax = time.Millisecond, time.Millisecond
	e, m = newEngine(t, s)
	d = observe(t, e, t0, firing(1, "x"))
	require.Len(t, d, 1)
	require.NoError(t, e.Complete(t0, d[0], nil, ""))
	observe(t, e, t0.Add(time.Second), clear(1, "x"))
	assert.Empty(t, observe(t, e, t0.Add(2*time.Second), firing(1, "x")))
	assert.Equal(t, "suppressed(rate_limit:target)", m.decisions()[len(m.decisions())-1])
	// Another action on the same target has its own bucket.
	observe(t, e, t0.Add(3*time.Second), firing(0, "x"))
	assert.Len(t, observe(t, e, t0.Add(40*time.Second), firing(0, "x")), 1, "restart on x does not wait for clean on x")
}

// TestOneRuleDoesNotHoldBackAnother: two rules acting on one target, each with its own action,
// both act at once: backoff is per (rule, target) and the token buckets per (action, target).
func TestOneRuleDoesNotHoldBackAnother(t *testing.T) {
	s := settings()
	s.PerTarget = Rate{PerMinute: 2, Burst: 1}
	s.Rules = []Rule{
		{Name: "breaker-open", Actions: []string{"notify"}, EscalateAfter: 1},
		{Name: "probe-failing", Actions: []string{"log"}, EscalateAfter: 1},
	}
	e, m := newEngine(t, s)
	at := t0
	d := observe(t, e, at, firing(0, "checkout"))
	require.Len(t, d, 1)
	require.NoError(t, e.Complete(at, d[0], nil, ""))
	for i := range 4 {
		at = t0.Add(time.Duration(i+1) * time.Second)
		got := observe(t, e, at, firing(1, "checkout"))
		if i == 0 {
			require.Len(t, got, 1, "probe-failing's log runs right after breaker-open's notify on the same target")
			require.NoError(t, e.Complete(at, got[0], nil, ""))
		}
	}
	assert.Equal(t, []string{"fired", "executing", "executed", "fired", "executing", "executed",
		"suppressed(dedup)", "suppressed(dedup)", "suppressed(dedup)"}, m.decisions())

	// The same rule on the same target still backs off.
	observe(t, e, at.Add(time.Second), clear(1, "checkout"))
	assert.Empty(t, observe(t, e, at.Add(2*time.Second), firing(1, "checkout")))
	assert.Equal(t, "suppressed(backoff)", m.decisions()[len(m.decisions())-1])
}

func TestDryRunAndMaintenanceAndAdmit(t *testing.T) {
	s := settings()
	s.ActionDryRun = map[string]bool{"clean": true}
	e, m := newEngine(t, s)
	assert.Empty(t, observe(t, e, t0, firing(1, "h")))
	assert.Equal(t, []string{"fired", "dry_run"}, m.decisions())
	observe(t, e, t0.Add(time.Second), firing(1, "h"))
	assert.Equal(t, "suppressed(dedup)", m.decisions()[2], "a dry run counts as the incident's execution")

	s = settings()
	s.Maintenance = func(rule string, _ time.Time) (string, bool) { return "sunday-patching", rule == "disk" }
	e, m = newEngine(t, s)
	assert.Empty(t, observe(t, e, t0, firing(1, "h")))
	assert.Equal(t, []string{"fired", "suppressed(maintenance:sunday-patching)"}, m.decisions())

	s = settings()
	s.Admit = func(_, target string) error {
		if target == "$(reboot)" {
			return errors.New("target does not match the action's pattern")
		}
		return nil
	}
	e, m = newEngine(t, s)
	assert.Empty(t, observe(t, e, t0, firing(1, "$(reboot)")))
	assert.Equal(t, []string{"fired", "rejected(target_pattern)"}, m.decisions())
	assert.Empty(t, observe(t, e, t0.Add(time.Second), firing(1, "$(reboot)")))
	assert.Equal(t, "suppressed(actions_exhausted)", m.decisions()[2])
}

func TestRestartKeepsDedupLimitsAndInterruptsIntents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	s := settings()
	s.Rules[0].For = 0
	s.Global = Rate{PerMinute: 1, Burst: 2}
	open := func(at time.Time) (*Engine, *audit.Log) { return openOnAudit(t, path, s, at) }
	e, l := open(t0)
	d1 := observe(t, e, t0, firing(1, "a"))
	require.Len(t, d1, 1)
	require.NoError(t, e.Complete(t0, d1[0], nil, ""))
	d2 := observe(t, e, t0, firing(0, "b"))
	require.Len(t, d2, 1) // dispatched, never completed: the collector "dies"
	require.NoError(t, l.Close())

	e, l = open(t0.Add(time.Second))
	defer l.Close()
	assert.Empty(t, observe(t, e, t0.Add(2*time.Second), firing(1, "a")), "a's incident already acted")
	assert.Empty(t, observe(t, e, t0.Add(2*time.Second), firing(0, "b")), "b's intent is interrupted, never re-run")
	assert.Empty(t, observe(t, e, t0.Add(2*time.Second), firing(1, "c")), "the global burst of 2 was spent before the restart")

	l.Sync()
	recs := readAll(t, path)
	var decisions []string
	for _, r := range recs {
		decisions = append(decisions, r.Decision+"/"+r.Reason)
	}
	assert.Contains(t, decisions, "interrupted/")
	assert.Contains(t, decisions, "suppressed/rate_limit:global")
}

// openOnAudit starts an engine of s at at on the audit file at path, as the exporter does when
// the collector (re)starts: the records already there are its state.
func openOnAudit(t *testing.T, path string, s Settings, at time.Time) (*Engine, *audit.Log) {
	t.Helper()
	l, recs, _, err := audit.Open(path)
	require.NoError(t, err)
	e, err := New(s, l, recs, at)
	require.NoError(t, err)
	return e, l
}

func readAll(t *testing.T, path string) []audit.Record {
	l, recs, _, err := audit.Open(path)
	require.NoError(t, err)
	require.NoError(t, l.Close())
	return recs
}

func TestStaleIncidentsResolveAndCapHolds(t *testing.T) {
	e, m := pendingEngine(t, 3)
	observe(t, e, t0, firing(1, "firing-1"))
	observe(t, e, t0, firing(1, "firing-2"))
	observe(t, e, t0, firing(1, "firing-3"))
	observe(t, e, t0, firing(1, "firing-4"))
	assert.Equal(t, int64(1), e.SkippedFull, "three firing incidents fill the table and are never evicted")

	d, err := e.Sweep(t0.Add(6 * time.Minute))
	require.NoError(t, err)
	assert.Empty(t, d)
	n := 0
	for _, x := range m.decisions() {
		if x == "resolved(stale)" {
			n++
		}
	}
	assert.Equal(t, 3, n)
	assert.Zero(t, e.incidents.Len(), "no incident is held")
}

func TestAuditFailureDispatchesNothing(t *testing.T) {
	e, m := newEngine(t, settings())
	m.fail = true
	d, err := e.Observe(t0, firing(1, "x"))
	require.ErrorIs(t, err, ErrAudit)
	assert.Empty(t, d)
}

func TestTargetsTheNameRuleRefusesStillOpenIncidents(t *testing.T) {
	e, m := newEngine(t, settings())
	// Targets come from telemetry: a control character, a C1 code point or bad UTF-8 is still a
	// target, and "1 x" does not collide with rule 1's target "x".
	for _, target := range []string{"db\n1", "db\u00852", "db 3", "\xff", "1 x"} {
		d := observe(t, e, t0, firing(1, target))
		require.Len(t, d, 1, target)
		assert.Equal(t, target, d[0].Target)
	}
	d := observe(t, e, t0, firing(0, "1 x"))
	assert.Empty(t, d, "rule 0's incident on target \"1 x\" is its own, pending")
	assert.Equal(t, 6, e.incidents.Len())
	assert.Len(t, m.decisions(), 10)
	assert.NotNil(t, e.lookup(key{1, "db\n1"}))
}

func TestPendingIncidentClearedAndHeldAgainInOneBatch(t *testing.T) {
	e, _ := pendingEngine(t, settings().MaxIncidents)
	observe(t, e, t0, firing(0, "x"))
	batch := append(append(clear(0, "x"), firing(0, "x")...), firing(0, "y")...)
	observe(t, e, t0.Add(time.Minute), batch)
	assert.Equal(t, 2, e.incidents.Len(), "x was forgotten and opened again; y is new")
	inc := e.lookup(key{0, "x"})
	require.NotNil(t, inc)
	assert.Equal(t, t0.Add(time.Minute), inc.since, "held again: pending from the second observation")
}

func TestCapEvictsTheLeastRecentlySeenPendingIncident(t *testing.T) {
	e, _ := pendingEngine(t, 2)
	observe(t, e, t0, firing(0, "a"))
	observe(t, e, t0, firing(0, "b"))
	observe(t, e, t0, firing(0, "a")) // a seen again (at the same time): b is now the oldest
	observe(t, e, t0, firing(0, "c"))
	assert.NotNil(t, e.lookup(key{0, "a"}))
	assert.Nil(t, e.lookup(key{0, "b"}), "the least recently seen pending incident is evicted")
	assert.NotNil(t, e.lookup(key{0, "c"}))
	assert.Zero(t, e.SkippedFull)
}

// TestSweepStopsAtTheFirstIncidentSeenSince: Sweep takes incidents least recently seen first
// and stops at the first one seen within resolve_timeout, as it always has.
func TestSweepStopsAtTheFirstIncidentSeenSince(t *testing.T) {
	e, _ := pendingEngine(t, settings().MaxIncidents)
	observe(t, e, t0, firing(0, "a"))
	observe(t, e, t0.Add(time.Minute), firing(0, "b"))
	observe(t, e, t0, firing(0, "c")) // seen after b, at an older time
	_, err := e.Sweep(t0.Add(5*time.Minute + 30*time.Second))
	require.NoError(t, err)
	assert.Nil(t, e.lookup(key{0, "a"}), "stale and least recently seen")
	assert.NotNil(t, e.lookup(key{0, "b"}))
	assert.NotNil(t, e.lookup(key{0, "c"}), "stale, but seen after b")
}

func TestReplayKeepsFiringIncidentsOverTheCap(t *testing.T) {
	s := settings()
	m := &memLog{}
	e, err := New(s, m, nil, t0)
	require.NoError(t, err)
	for _, target := range []string{"a", "b", "c"} {
		observe(t, e, t0, firing(1, target))
	}
	s.MaxIncidents = 2 // lowered across a restart
	e, err = New(s, &memLog{}, m.recs, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 3, e.incidents.Len(), "no firing incident is forgotten")
	for _, target := range []string{"a", "b", "c"} {
		inc := e.lookup(key{1, target})
		require.NotNil(t, inc, target)
		assert.True(t, inc.firing)
	}
}
