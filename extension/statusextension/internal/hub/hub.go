// Package hub is the status extension's model: the latest verdict of every component (score,
// status, signals, breaker, predictions, healing incidents, dependencies), the incidents that
// correlate them over time, and the fan-out of changes to watch streams.
//
// Concurrency: publishers take the write lock for the time of one update; readers (the API)
// take the read lock. A component's JSON is encoded once per change and reused by every read
// until it changes again, so a poll of 10,000 components copies bytes instead of re-encoding
// them. Watch messages are encoded once at publish and handed to subscribers without blocking.
package hub // import "github.com/vigil-collector/vigil/extension/statusextension/internal/hub"

import (
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
	"github.com/vigil-collector/vigil/internal/fanout"
	"github.com/vigil-collector/vigil/internal/registry"
)

// Settings bound the hub.
type Settings struct {
	// MaxComponents caps the components held; past it, new names are counted and dropped.
	MaxComponents int
	// MaxNameLength caps a service name, in bytes.
	MaxNameLength int
	// MaxIncidents caps the incidents kept; past it the oldest resolved go first, then the
	// oldest open.
	MaxIncidents int
	// IncidentRetention is how long a resolved incident is kept.
	IncidentRetention time.Duration
	// MaxEvents caps one incident's timeline; past it the oldest events after the first are
	// dropped (and counted on the incident).
	MaxEvents int
	// Critical names the components whose score bounds the overall score.
	Critical []string
	// ScoreChange is the score change that makes a component event on the watch stream (a
	// status change always does).
	ScoreChange float64
	// MaxSubscribers and Buffer bound the watch streams.
	MaxSubscribers, Buffer int
}

// maxPredictionsPerComponent bounds the predicted sources kept per component.
const maxPredictionsPerComponent = 16

// maxHealingPerComponent bounds the healing incidents kept per component.
const maxHealingPerComponent = 16

// maxDependencies bounds the edges kept from one pass; past it the lowest call rates go.
const maxDependencies = 200_000

// Hub holds the model. The zero value is not usable; call New.
type Hub struct {
	s        Settings
	critical map[string]bool
	now      func() time.Time

	mu        sync.RWMutex
	version   uint64
	updatedAt time.Time
	healthy   float64
	degraded  float64
	comps     *registry.Registry[*component]
	tick      int64    // orders touches, for eviction
	names     []string // sorted; nil when it must be rebuilt
	edges     []statusfeed.Edge
	incidents incidents
	pass      uint64 // scoring passes applied

	// overallCache holds the overall verdict's JSON of one version (stored by readers).
	overallCache atomic.Pointer[encoded]
	// doc holds the last large status document (stored by readers).
	doc atomic.Pointer[docCache]

	watch *fanout.Fanout[Message]

	dropped atomic.Uint64 // names refused (invalid, or past the cap)
}

// New returns a hub with settings s; now is the clock of incident retention (time.Now when nil).
func New(s Settings, now func() time.Time) *Hub {
	if now == nil {
		now = time.Now
	}
	h := &Hub{
		s:        s,
		critical: map[string]bool{},
		now:      now,
		healthy:  0.9,
		degraded: 0.5,
	}
	for _, c := range s.Critical {
		h.critical[c] = true
	}
	h.comps = registry.New(registry.Options[*component]{
		Cap:           s.MaxComponents,
		MaxNameLength: s.MaxNameLength,
		Seen:          func(c *component) int64 { return c.touched },
		Pinned:        (*component).held,
		OnEvict: func(*component) {
			h.names = nil // called under the hub's write lock, from lookup
		},
	})
	h.incidents.init(s)
	h.watch = fanout.New[Message](s.MaxSubscribers, s.Buffer, ErrClosed, ErrTooManyWatchers)
	return h
}

// Close ends every watch subscription; publishing afterwards still updates the model.
func (h *Hub) Close() { h.watch.Close() }

// Dropped returns how many published names were refused (invalid or past max_components).
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }

// Version returns the model's version: it grows with every change, so it makes an ETag.
func (h *Hub) Version() uint64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.version
}

// validName is the one name rule of Vigil's bounded sets of names (registry.CheckName).
func validName(name string, max int) bool { return registry.CheckName(name, max) == registry.NameOK }

// lookup returns the component named name, creating it when new (past max_components the least
// recently touched that nothing holds are evicted); nil, counted, when the name is refused or
// every component is held. The caller holds the write lock.
func (h *Hub) lookup(name string) *component {
	h.tick++
	if c, ok := h.comps.Load(name); ok {
		c.touched = h.tick
		return c
	}
	c, err := h.comps.Get(name, func(key string) *component {
		return &component{name: key, status: StatusUnknown, score: math.NaN()}
	})
	if err != nil {
		h.dropped.Add(1)
		return nil
	}
	c.touched = h.tick
	h.names = nil
	return c
}

// changed marks c changed: its cached JSON is stale and the model's version moves.
func (h *Hub) changed(c *component) {
	c.ver++
	h.version++
}

// sortedNames returns the component names in order, rebuilding the list when the set changed.
// The caller holds the write lock, or the read lock when names is known to be current.
func (h *Hub) sortedNames() []string {
	if h.names == nil {
		h.names = make([]string, 0, h.comps.Len())
		for n := range h.comps.All() {
			h.names = append(h.names, n)
		}
		slices.Sort(h.names)
	}
	return h.names
}

// PublishScores implements statusfeed.Publisher.
func (h *Hub) PublishScores(p *statusfeed.Pass) {
	if p == nil {
		return
	}
	edges := h.validEdges(p.Edges) // outside the lock: readers wait only for the model's update
	h.apply(p, edges)
	h.warm()
}

// warm encodes every component's document after a pass, on the publisher's goroutine and under
// the read lock, so that the API's next reads copy bytes instead of encoding 10,000 documents.
func (h *Hub) warm() {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, c := range h.comps.All() {
		h.json(c)
	}
	h.overallJSON()
}

// apply updates the model from a pass under the write lock.
func (h *Hub) apply(p *statusfeed.Pass, edges []statusfeed.Edge) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p.Healthy > 0 && p.Degraded > 0 {
		h.healthy, h.degraded = p.Healthy, p.Degraded
	}
	h.updatedAt = p.At
	h.pass++
	var events []message
	for i := range p.Components {
		pc := &p.Components[i]
		c := h.lookup(pc.Name)
		if c == nil || c.pass == h.pass {
			continue // refused, or listed twice
		}
		c.pass = h.pass
		events = h.applyScore(c, pc, p.At, events)
	}
	h.forgetAbsent()
	h.setEdges(edges)
	h.rootCauses(p)
	for _, c := range h.comps.All() {
		c.ver++ // edges and root causes are re-read from this pass
	}
	h.version++
	h.incidents.expire(h.now())
	h.sortedNames()
	h.watch.Publish(events...)
}

// applyScore updates one component from a pass and records what changed on its incident.
func (h *Hub) applyScore(c *component, pc *statusfeed.Component, at time.Time, events []message) []message {
	status := pc.Status
	if !pc.Known || !validStatus(status) {
		status = StatusUnknown
	}
	prevStatus, prevScore, prevProbe := c.status, c.score, c.probeFailing
	c.known = pc.Known && status != StatusUnknown
	c.status = status
	c.score = math.NaN()
	if c.known && !math.IsNaN(pc.Score) {
		c.score = clamp01(pc.Score)
	}
	c.signals = c.signals[:0]
	c.probeFailing = false
	for _, s := range pc.Signals {
		if math.IsNaN(s.Value) || !validName(s.Name, 64) {
			continue
		}
		c.signals = append(c.signals, statusfeed.Signal{Name: s.Name, Value: clamp01(s.Value)})
		if s.Name == "probe" && s.Value < 1 {
			c.probeFailing = true
		}
	}
	slices.SortFunc(c.signals, func(a, b statusfeed.Signal) int { return strings.Compare(a.Name, b.Name) })
	c.seenAt = at
	h.changed(c)

	if c.probeFailing != prevProbe {
		ev := Event{At: at, Kind: KindProbe, Service: c.name, Status: "passing"}
		if c.probeFailing {
			ev.Status = "failing"
		}
		events = h.record(c, ev, c.probeFailing, events)
	}
	if status != prevStatus {
		ev := Event{At: at, Kind: KindScore, Service: c.name, Status: status, From: prevStatus}
		if c.known {
			s := c.score
			ev.Score = &s
			ev.Threshold = h.cutoff(status)
		}
		events = h.record(c, ev, status == StatusUnhealthy, events)
	}
	if status != prevStatus || scoreMoved(prevScore, c.score, h.s.ScoreChange) {
		events = append(events, h.componentMessage(c, prevStatus))
	}
	return events
}

// cutoff returns the score cut-off a status is named by (the one it is below, for degraded
// and unhealthy; the one it reached, for healthy).
func (h *Hub) cutoff(status string) *float64 {
	var v float64
	switch status {
	case StatusHealthy:
		v = h.healthy
	case StatusDegraded:
		v = h.healthy
	case StatusUnhealthy:
		v = h.degraded
	default:
		return nil
	}
	return &v
}

func scoreMoved(prev, cur, by float64) bool {
	if math.IsNaN(prev) != math.IsNaN(cur) {
		return true
	}
	return !math.IsNaN(cur) && math.Abs(cur-prev) >= by
}

// forgetAbsent drops the components a pass no longer lists, unless something still holds
// them: an open incident, a breaker that is not closed, or a firing healing incident.
func (h *Hub) forgetAbsent() {
	gone := h.comps.DeleteFunc(func(_ string, c *component) bool {
		// A component known only from its breaker is kept while the breaker knows it.
		return c.pass != h.pass && !c.held() && !(c.breaker != nil && c.seenAt.IsZero())
	})
	if len(gone) > 0 {
		h.names = nil
	}
}

// validEdges returns a pass's valid edges, at most maxDependencies (the busiest), sorted by
// caller then callee.
func (h *Hub) validEdges(edges []statusfeed.Edge) []statusfeed.Edge {
	kept := make([]statusfeed.Edge, 0, min(len(edges), maxDependencies))
	for _, e := range edges {
		if !validName(e.Caller, h.s.MaxNameLength) || !validName(e.Callee, h.s.MaxNameLength) ||
			!(e.CallsPerSecond >= 0) || !(e.ErrorRatio >= 0 && e.ErrorRatio <= 1) || e.LatencyP95 < 0 ||
			math.IsInf(e.CallsPerSecond, 0) {
			h.dropped.Add(1)
			continue
		}
		kept = append(kept, e)
	}
	if len(kept) > maxDependencies {
		slices.SortFunc(kept, func(a, b statusfeed.Edge) int { return cmpFloat(b.CallsPerSecond, a.CallsPerSecond) })
		kept = kept[:maxDependencies]
	}
	byNames := func(a, b statusfeed.Edge) int {
		if a.Caller != b.Caller {
			return strings.Compare(a.Caller, b.Caller)
		}
		return strings.Compare(a.Callee, b.Callee)
	}
	if !slices.IsSortedFunc(kept, byNames) { // the healthscore processor sends them sorted
		slices.SortFunc(kept, byNames)
	}
	return kept
}

// setEdges makes kept (from validEdges) the service graph and indexes it by component. The
// caller holds the write lock.
func (h *Hub) setEdges(kept []statusfeed.Edge) {
	h.edges = kept
	for _, c := range h.comps.All() {
		c.calls, c.calledBy = nil, nil
	}
	for i := range kept {
		if c, ok := h.comps.Load(kept[i].Caller); ok {
			c.calls = append(c.calls, int32(i))
		}
		if c, ok := h.comps.Load(kept[i].Callee); ok {
			c.calledBy = append(c.calledBy, int32(i))
		}
	}
}

// PublishTransition implements statusfeed.Publisher.
func (h *Hub) PublishTransition(tr statusfeed.Transition) {
	if tr.Caller != "" {
		// A caller's own view: streamed to its watchers, no part of the component's verdict.
		if !validName(tr.Caller, h.s.MaxNameLength) || !validName(tr.Target, h.s.MaxNameLength) {
			h.dropped.Add(1)
			return
		}
		h.watch.Publish(transitionMessage(tr))
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	msg := transitionMessage(tr)
	c := h.lookup(tr.Target)
	if c == nil {
		h.watch.Publish(msg)
		return
	}
	c.breaker = &breakerView{State: tr.To, Mode: tr.Mode, Reason: tr.Reason, Since: tr.At}
	h.changed(c)
	ev := Event{At: tr.At, Kind: KindBreaker, Service: c.name, From: tr.From, To: tr.To, Reason: tr.Reason,
		Mode: tr.Mode, Counts: tr.Counts}
	events := h.record(c, ev, tr.To != "closed" && tr.To != "forced_closed", []message{msg})
	h.watch.Publish(events...)
}

// PublishPredictions implements statusfeed.Publisher. Predictions of a service the hub does not
// know are dropped: a prediction qualifies a component, it does not make one.
func (h *Hub) PublishPredictions(preds []statusfeed.Prediction) {
	if len(preds) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range preds {
		c, ok := h.comps.Load(p.Service)
		if !ok || !validName(p.Source, h.s.MaxNameLength) {
			h.dropped.Add(1)
			continue
		}
		if c.setPrediction(p) {
			h.changed(c)
		}
	}
}

// PublishHealing implements statusfeed.Publisher.
func (h *Hub) PublishHealing(d statusfeed.HealingDecision) {
	if d.Target == "" {
		return // a decision about no target (an interrupted intent) belongs to no component
	}
	if d.Decision == "suppressed" && (d.Reason == "dedup" || d.Reason == "in_flight") {
		return // every data point of a firing rule: no news, and it would flood the timeline
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.lookup(d.Target)
	if c == nil {
		return
	}
	firing, tracked := c.setHealing(d)
	h.changed(c)
	ev := Event{At: d.At, Kind: KindHealing, Service: c.name, Rule: d.Rule, Decision: d.Decision, Reason: d.Reason,
		Action: d.Action, DryRun: d.DryRun, Healing: d.Incident, Detail: d.Detail}
	if !tracked && c.incident == nil {
		// The aftermath of a healing incident that resolved (its resolve notification): it
		// belongs to the incident that holds that healing incident, which stays resolved.
		if inc := h.incidents.holding(c.name, d.Incident); inc != nil {
			inc.add(ev, h.s.MaxEvents)
			h.watch.Publish(incidentMessage(inc, "acted", ev))
		}
		return
	}
	h.watch.Publish(h.record(c, ev, firing, nil)...)
}

// record adds ev to c's open incident, opening one when bad holds and none is open, and
// resolves the incident when nothing about c is bad any more. It returns events with the
// incident's watch message appended.
func (h *Hub) record(c *component, ev Event, bad bool, events []message) []message {
	inc := c.incident
	if inc != nil && inc.evicted {
		inc, c.incident = nil, nil // past max_incidents: the next bad sign opens a new one
	}
	if inc == nil {
		if !bad {
			return events
		}
		inc = h.incidents.open(c.name, ev.At)
		if inc == nil {
			return events // max_incidents open at once: refused, counted
		}
		c.incident = inc
		inc.add(ev, h.s.MaxEvents)
		c.ver++
		return append(events, incidentMessage(inc, "opened", ev))
	}
	inc.add(ev, h.s.MaxEvents)
	state := "updated"
	if ev.Kind == KindHealing {
		state = "acted"
	}
	events = append(events, incidentMessage(inc, state, ev))
	if !c.bad() {
		at := ev.At
		res := Event{At: at, Kind: KindResolved, Service: c.name}
		inc.add(res, h.s.MaxEvents)
		h.incidents.resolve(inc, at)
		c.incident = nil
		c.ver++
		events = append(events, incidentMessage(inc, "resolved", res))
	}
	return events
}

func clamp01(v float64) float64 {
	switch {
	case v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
