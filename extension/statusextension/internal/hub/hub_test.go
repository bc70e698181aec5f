package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

func testSettings() Settings {
	return Settings{MaxComponents: 100, MaxNameLength: 64, MaxIncidents: 10, IncidentRetention: time.Hour,
		MaxEvents: 20, ScoreChange: 0.05, MaxSubscribers: 4, Buffer: 64}
}

func comp(name string, score float64, status string, signals ...statusfeed.Signal) statusfeed.Component {
	return statusfeed.Component{Name: name, Known: status != StatusUnknown, Score: score, Status: status, Signals: signals}
}

func sig(name string, v float64) statusfeed.Signal { return statusfeed.Signal{Name: name, Value: v} }

type statusDoc struct {
	Version    uint64            `json:"version"`
	Overall    Overall           `json:"overall"`
	Components []json.RawMessage `json:"components"`
	Next       *string           `json:"next"`
}

func readStatus(t *testing.T, h *Hub, q Query) (statusDoc, []map[string]any) {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 1000
	}
	var buf bytes.Buffer
	h.WriteStatus(&buf, q)
	var doc statusDoc
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc), buf.String())
	var comps []map[string]any
	for _, raw := range doc.Components {
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		comps = append(comps, m)
	}
	return doc, comps
}

func TestOverallIsBoundedByTheWorstCriticalComponent(t *testing.T) {
	s := testSettings()
	s.Critical = []string{"payments"}
	h := New(s, func() time.Time { return t0 })
	h.PublishScores(&statusfeed.Pass{At: t0, Healthy: 0.9, Degraded: 0.5, Components: []statusfeed.Component{
		comp("cart", 1, StatusHealthy), comp("payments", 0.6, StatusDegraded), comp("web", 0.95, StatusHealthy),
		comp("quiet", 0, StatusUnknown),
	}})
	doc, comps := readStatus(t, h, Query{})
	require.Len(t, comps, 4)
	assert.Equal(t, "cart", comps[0]["name"], "sorted by name")
	require.NotNil(t, doc.Overall.Score)
	assert.InDelta(t, 0.6, *doc.Overall.Score, 1e-9, "the critical payments (0.6) is below the mean (0.85)")
	assert.Equal(t, StatusDegraded, doc.Overall.Status)
	assert.Equal(t, []string{"payments"}, doc.Overall.Worst)
	assert.Equal(t, map[string]int{"healthy": 2, "degraded": 1, "unhealthy": 0, "unknown": 1}, doc.Overall.Counts)

	// Without a critical list, the mean of the known components.
	h2 := New(testSettings(), nil)
	h2.PublishScores(&statusfeed.Pass{At: t0, Healthy: 0.9, Degraded: 0.5, Components: []statusfeed.Component{
		comp("cart", 1, StatusHealthy), comp("payments", 0.6, StatusDegraded), comp("web", 0.95, StatusHealthy)}})
	doc, _ = readStatus(t, h2, Query{})
	assert.InDelta(t, 0.85, *doc.Overall.Score, 1e-9)
	assert.Equal(t, StatusDegraded, doc.Overall.Status)
}

func TestFiltersAndPages(t *testing.T) {
	h := New(testSettings(), nil)
	var cs []statusfeed.Component
	for i := range 10 {
		st, sc := StatusHealthy, 1.0
		if i%3 == 0 {
			st, sc = StatusUnhealthy, 0.1
		}
		cs = append(cs, comp(fmt.Sprintf("svc-%02d", i), sc, st))
	}
	h.PublishScores(&statusfeed.Pass{At: t0, Healthy: 0.9, Degraded: 0.5, Components: cs})

	_, comps := readStatus(t, h, Query{Statuses: []string{StatusUnhealthy}})
	names := []string{}
	for _, c := range comps {
		names = append(names, c["name"].(string))
	}
	assert.Equal(t, []string{"svc-00", "svc-03", "svc-06", "svc-09"}, names)

	doc, comps := readStatus(t, h, Query{Limit: 4})
	require.Len(t, comps, 4)
	require.NotNil(t, doc.Next)
	assert.Equal(t, "svc-03", *doc.Next)
	doc, comps = readStatus(t, h, Query{Limit: 4, After: *doc.Next})
	assert.Equal(t, "svc-04", comps[0]["name"])
	doc, comps = readStatus(t, h, Query{Limit: 4, After: *doc.Next})
	assert.Len(t, comps, 2)
	assert.Nil(t, doc.Next, "the last page has no cursor")

	_, comps = readStatus(t, h, Query{Service: "svc-05"})
	require.Len(t, comps, 1)
	assert.Equal(t, "svc-05", comps[0]["name"])
	_, comps = readStatus(t, h, Query{Service: "nope"})
	assert.Empty(t, comps)
}

// TestIncidentTimeline drives one service through a failing probe, a score below the cut-off, a
// breaker opening, a dry-run healing action, and back; the incident holds it all in order.
func TestIncidentTimeline(t *testing.T) {
	h := New(testSettings(), nil)
	sub, cancel, err := h.Subscribe()
	require.NoError(t, err)
	defer cancel()
	pass := func(at time.Time, score, probe float64, status string) {
		h.PublishScores(&statusfeed.Pass{At: at, Healthy: 0.9, Degraded: 0.5, Components: []statusfeed.Component{
			comp("checkout", score, status, sig("errors", score), sig("probe", probe)), comp("web", 1, StatusHealthy)},
			Edges: []statusfeed.Edge{{Caller: "web", Callee: "checkout", CallsPerSecond: 10, ErrorRatio: 0.4, LatencyP95: 20 * time.Millisecond}}})
	}
	pass(t0, 1, 1, StatusHealthy)
	pass(t0.Add(10*time.Second), 0.95, 0, StatusHealthy)  // the probe fails first
	pass(t0.Add(20*time.Second), 0.3, 0, StatusUnhealthy) // then the score falls
	h.PublishTransition(statusfeed.Transition{Target: "checkout", From: "closed", To: "open", Mode: "auto",
		Reason: "failure_rate", At: t0.Add(25 * time.Second), Counts: json.RawMessage(`{"calls":40,"failures":30}`)})
	h.PublishHealing(statusfeed.HealingDecision{At: t0.Add(30 * time.Second), Incident: "h1", Rule: "service-unhealthy",
		Target: "checkout", Decision: "fired"})
	h.PublishHealing(statusfeed.HealingDecision{At: t0.Add(30 * time.Second), Incident: "h1", Rule: "service-unhealthy",
		Target: "checkout", Decision: "dry_run", Action: "notify", DryRun: true})

	// While open: the component shows it all.
	_, comps := readStatus(t, h, Query{Service: "checkout"})
	require.Len(t, comps, 1)
	c := comps[0]
	assert.Equal(t, "unhealthy", c["status"])
	assert.Equal(t, "open", c["breaker"].(map[string]any)["state"])
	assert.Equal(t, "1", c["incident"])
	active := c["active_incidents"].([]any)
	require.Len(t, active, 1)
	assert.Equal(t, "dry_run", active[0].(map[string]any)["outcome"])
	assert.Equal(t, []any{"checkout"}, c["root_cause"])
	_, web := readStatus(t, h, Query{Service: "web"})
	deps := web[0]["dependencies"].([]any)
	require.Len(t, deps, 1)
	assert.Equal(t, 0.4, deps[0].(map[string]any)["error_ratio"])

	hv, ok := h.Health("checkout")
	require.True(t, ok)
	assert.False(t, hv.Healthy)
	assert.Contains(t, hv.Reason, "breaker open")

	// Recovery: breaker closes, score and probe come back, healing resolves.
	h.PublishTransition(statusfeed.Transition{Target: "checkout", From: "open", To: "half_open", Mode: "auto", Reason: "backoff_elapsed", At: t0.Add(40 * time.Second)})
	h.PublishTransition(statusfeed.Transition{Target: "checkout", From: "half_open", To: "closed", Mode: "auto", Reason: "recovered", At: t0.Add(50 * time.Second)})
	pass(t0.Add(60*time.Second), 0.97, 1, StatusHealthy)
	inc, ok := h.Incident("1")
	require.True(t, ok)
	assert.Equal(t, "open", inc.State, "the healing incident still fires")
	h.PublishHealing(statusfeed.HealingDecision{At: t0.Add(70 * time.Second), Incident: "h1", Rule: "service-unhealthy",
		Target: "checkout", Decision: "resolved", Reason: "cleared"})

	inc, ok = h.Incident("1")
	require.True(t, ok)
	assert.Equal(t, "resolved", inc.State)
	assert.Equal(t, "probe", inc.Cause)
	var kinds []string
	for _, ev := range inc.Events {
		kinds = append(kinds, ev.Kind+":"+ev.Status+ev.To+ev.Decision)
	}
	assert.Equal(t, []string{"probe:failing", "score:unhealthy", "breaker:open", "healing:fired", "healing:dry_run",
		"breaker:half_open", "breaker:closed", "probe:passing", "score:healthy", "healing:resolved", "resolved:"}, kinds)
	require.NotNil(t, inc.LastAction)
	assert.Equal(t, "notify", inc.LastAction.Action)
	assert.JSONEq(t, `{"calls":40,"failures":30}`, string(inc.Events[2].Counts))

	hv, _ = h.Health("checkout")
	assert.True(t, hv.Healthy)

	// The watch stream saw the incident open, act and resolve, and the breaker transitions.
	seen := map[string]int{}
	for len(sub.C) > 0 {
		m := <-sub.C
		seen[m.Event]++
		if m.Event == EventIncident {
			var ie map[string]any
			require.NoError(t, json.Unmarshal(m.Data, &ie))
			seen["incident:"+ie["state"].(string)]++
		}
	}
	assert.Equal(t, 3, seen[EventTransition])
	assert.Equal(t, 1, seen["incident:opened"])
	assert.Equal(t, 3, seen["incident:acted"])
	assert.Equal(t, 1, seen["incident:resolved"])
	assert.GreaterOrEqual(t, seen[EventComponent], 3)
}

func TestRootCauseWalksToTheTroubledCallee(t *testing.T) {
	h := New(testSettings(), nil)
	h.PublishScores(&statusfeed.Pass{At: t0, Healthy: 0.9, Degraded: 0.5, Components: []statusfeed.Component{
		comp("web", 0.6, StatusDegraded), comp("checkout", 0.55, StatusDegraded), comp("db", 0.1, StatusUnhealthy),
		comp("search", 1, StatusHealthy), comp("given", 0.2, StatusUnhealthy)},
		Edges: []statusfeed.Edge{
			{Caller: "web", Callee: "checkout", CallsPerSecond: 10, ErrorRatio: 0.3},
			{Caller: "web", Callee: "search", CallsPerSecond: 10},
			{Caller: "checkout", Callee: "db", CallsPerSecond: 10, ErrorRatio: 0.5},
			{Caller: "db", Callee: "web", CallsPerSecond: 1}, // a cycle through a healthy-looking edge
		}})
	h.mu.RLock()
	defer h.mu.RUnlock()
	assert.Equal(t, []string{"db"}, held(t, h, "web").rootCause)
	assert.Equal(t, []string{"db"}, held(t, h, "checkout").rootCause)
	assert.Equal(t, []string{"db"}, held(t, h, "db").rootCause, "db calls nothing troubled: its own root cause")
	assert.Nil(t, held(t, h, "search").rootCause)

	// A publisher's own ranking wins.
	h.mu.RUnlock()
	h.PublishScores(&statusfeed.Pass{At: t0, Components: []statusfeed.Component{
		{Name: "given", Known: true, Score: 0.2, Status: StatusUnhealthy, RootCause: []string{"x", "y"}}}})
	h.mu.RLock()
	assert.Equal(t, []string{"x", "y"}, held(t, h, "given").rootCause)
}

func TestBounds(t *testing.T) {
	s := testSettings()
	s.MaxComponents, s.MaxIncidents, s.MaxEvents = 3, 2, 4
	now := t0
	h := New(s, func() time.Time { return now })
	// Invalid names are counted and dropped; past the cap the least recently touched go.
	h.PublishScores(&statusfeed.Pass{At: t0, Components: []statusfeed.Component{
		comp("a", 1, StatusHealthy), comp("b", 1, StatusHealthy), comp("c", 1, StatusHealthy), comp("d", 1, StatusHealthy),
		comp("", 1, StatusHealthy), comp("bad\x00name", 1, StatusHealthy)}})
	doc, _ := readStatus(t, h, Query{})
	assert.Equal(t, 3, doc.Overall.Components)
	assert.Equal(t, uint64(2), h.Dropped())
	_, ok := h.Health("a")
	assert.False(t, ok, "a was touched first: evicted for d")
	h.PublishScores(&statusfeed.Pass{At: t0, Components: []statusfeed.Component{
		comp("b", 1, StatusHealthy), comp("c", 1, StatusHealthy), comp("d", 1, StatusHealthy)}})

	// Incidents: at most 2; the oldest resolved goes first.
	open := func(svc string, at time.Time) {
		h.PublishTransition(statusfeed.Transition{Target: svc, From: "closed", To: "open", Reason: "r", At: at})
	}
	closeB := func(svc string, at time.Time) {
		h.PublishTransition(statusfeed.Transition{Target: svc, From: "open", To: "closed", Reason: "r", At: at})
	}
	open("a", t0)
	closeB("a", t0.Add(time.Second)) // incident 1 resolved
	open("b", t0.Add(2*time.Second)) // incident 2 open
	open("c", t0.Add(3*time.Second)) // incident 3 open: 1 is evicted
	list, _ := h.Incidents(IncidentQuery{Limit: 10})
	require.Len(t, list, 2)
	assert.Equal(t, "3", list[0].ID, "newest first")
	assert.Equal(t, "2", list[1].ID)

	// A timeline keeps its first event and the newest ones.
	for i := range 6 {
		at := t0.Add(time.Duration(10+i) * time.Second)
		h.PublishTransition(statusfeed.Transition{Target: "b", From: "open", To: "half_open", Reason: fmt.Sprint(i), At: at})
		h.PublishTransition(statusfeed.Transition{Target: "b", From: "half_open", To: "open", Reason: fmt.Sprint(i), At: at})
	}
	inc, ok := h.Incident("2")
	require.True(t, ok)
	require.Len(t, inc.Events, 4)
	assert.Equal(t, "r", inc.Events[0].Reason, "the opening event stays")
	assert.Equal(t, "5", inc.Events[3].Reason)
	assert.Equal(t, 9, inc.DroppedEvents)

	// Retention: a resolved incident goes after it.
	closeB("c", t0.Add(time.Minute))
	now = t0.Add(2 * time.Hour)
	h.PublishScores(&statusfeed.Pass{At: now})
	_, ok = h.Incident("3")
	assert.False(t, ok)
	_, ok = h.Incident("2")
	assert.True(t, ok, "an open incident stays")
}

func TestCachedJSONFollowsChanges(t *testing.T) {
	h := New(testSettings(), nil)
	h.PublishScores(&statusfeed.Pass{At: t0, Healthy: 0.9, Degraded: 0.5, Components: []statusfeed.Component{comp("a", 1, StatusHealthy)}})
	v1 := h.Version()
	_, comps := readStatus(t, h, Query{})
	assert.Nil(t, comps[0]["breaker"])
	h.PublishTransition(statusfeed.Transition{Target: "a", From: "closed", To: "forced_open", Mode: "forced_open", Reason: "override", At: t0})
	assert.Greater(t, h.Version(), v1)
	_, comps = readStatus(t, h, Query{})
	assert.Equal(t, "forced_open", comps[0]["breaker"].(map[string]any)["state"])
	hv, _ := h.Health("a")
	assert.False(t, hv.Healthy)
	h.PublishPredictions([]statusfeed.Prediction{{Service: "a", Source: "health.score", At: t0, Risk: 0.7, Anomaly: 0.2,
		HasThreshold: true, Threshold: 0.5, HasTimeToThreshold: true, TimeToThreshold: 90 * time.Second},
		{Service: "unknown", Source: "health.score", At: t0, Risk: 1}})
	_, comps = readStatus(t, h, Query{})
	preds := comps[0]["predictions"].([]any)
	require.Len(t, preds, 1)
	p := preds[0].(map[string]any)
	assert.Equal(t, 0.7, p["risk"])
	assert.Equal(t, 90.0, p["time_to_threshold_seconds"])
}

func TestComponentsWithoutAPassAreForgottenUnlessHeld(t *testing.T) {
	h := New(testSettings(), nil)
	h.PublishScores(&statusfeed.Pass{At: t0, Components: []statusfeed.Component{comp("a", 1, StatusHealthy), comp("b", 0.1, StatusUnhealthy)}})
	h.PublishScores(&statusfeed.Pass{At: t0.Add(time.Minute)})
	_, ok := h.Health("a")
	assert.False(t, ok, "a left the engine: forgotten")
	_, ok = h.Health("b")
	assert.True(t, ok, "b has an open incident: kept")
}

func TestSubscribeBounds(t *testing.T) {
	s := testSettings()
	s.MaxSubscribers, s.Buffer = 1, 1
	h := New(s, nil)
	sub, cancel, err := h.Subscribe()
	require.NoError(t, err)
	_, _, err = h.Subscribe()
	assert.ErrorIs(t, err, ErrTooManyWatchers)
	h.PublishTransition(statusfeed.Transition{Target: "a", From: "closed", To: "open", At: t0})
	assert.Equal(t, uint64(1), sub.Dropped(), "the transition filled the buffer; the incident event was missed, counted")
	_, dropped := h.Watchers()
	assert.Equal(t, uint64(1), dropped)
	cancel()
	h.Close()
	_, _, err = h.Subscribe()
	assert.ErrorIs(t, err, ErrClosed)
}

func held(t *testing.T, h *Hub, name string) *component {
	t.Helper()
	c, ok := h.comps.Load(name)
	require.True(t, ok, name)
	return c
}

func TestLargeDocumentsAreSharedUntilTheModelChanges(t *testing.T) {
	s := testSettings()
	s.MaxComponents = 1000
	h := New(s, nil)
	h.PublishScores(fleet(200, t0))
	all := Query{Statuses: []string{StatusHealthy, StatusDegraded, StatusUnhealthy}, Limit: 1000}
	var buf bytes.Buffer
	first, v1 := h.Status(&buf, all)
	buf.Reset()
	again, v2 := h.Status(&buf, all)
	assert.Equal(t, v1, v2)
	assert.Same(t, &first[0], &again[0], "the same bytes, not built again")
	other, _ := h.Status(&buf, Query{Statuses: []string{StatusHealthy}, Limit: 1000})
	assert.NotEqual(t, len(first), len(other), "another query is built for itself")
	h.PublishTransition(statusfeed.Transition{Target: "service-00001", From: "closed", To: "open", At: t0})
	buf.Reset()
	after, v3 := h.Status(&buf, all)
	assert.Greater(t, v3, v1)
	assert.Contains(t, string(after), `"state":"open"`, "built again after a change")
	small, _ := h.Status(&bytes.Buffer{}, Query{Service: "service-00002", Limit: 1})
	var doc statusDoc
	require.NoError(t, json.Unmarshal(small, &doc))
	assert.Len(t, doc.Components, 1)
}
