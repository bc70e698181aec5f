package hub

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// maxEdgesInView bounds the dependencies and dependents one component's view lists.
const maxEdgesInView = 100

// OverallRule documents how the overall score is made; the API returns it beside the figure.
const OverallRule = "min(mean score of the known components, lowest score of a critical component); status by the same cut-offs"

// Query selects the components of a status read.
type Query struct {
	// Service, when set, selects that one component.
	Service string
	// Statuses, when set, keeps the components in one of them.
	Statuses []string
	// After is the page cursor: only names after it.
	After string
	// Limit caps the components returned (a page).
	Limit int
}

// Overall is the system's verdict.
type Overall struct {
	Status     string         `json:"status"`
	Score      *float64       `json:"score"`
	Rule       string         `json:"rule"`
	Components int            `json:"components"`
	Counts     map[string]int `json:"counts"`
	// Worst names the critical components at the bound, or the worst components.
	Worst []string `json:"worst,omitempty"`
	// OpenIncidents counts the incidents not resolved.
	OpenIncidents int `json:"open_incidents"`
}

func floatPtr(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// json returns c's JSON, encoding it when the cached one is stale. The caller holds a lock.
func (h *Hub) json(c *component) []byte {
	if e := c.enc.Load(); e != nil && e.ver == c.ver {
		return e.b
	}
	b := h.appendComponent(make([]byte, 0, 512), c)
	c.enc.Store(&encoded{ver: c.ver, b: b})
	return b
}

// largeDocument is the number of components from which a status document is kept for the next
// read of the same query at the same version (a dashboard polling every component).
const largeDocument = 100

// docCache is one status document of one query at one model version.
type docCache struct {
	version uint64
	query   Query
	b       []byte
}

func sameQuery(a, b Query) bool {
	return a.Service == b.Service && a.After == b.After && a.Limit == b.Limit && slices.Equal(a.Statuses, b.Statuses)
}

// Status returns the status document of the components q selects and the model's version it
// shows (the ETag). A large document is kept until the model changes, so pollers of the same
// query at the same version share it (the bytes must not be modified); a small one is written
// into buf.
func (h *Hub) Status(buf *bytes.Buffer, q Query) ([]byte, uint64) {
	if d := h.doc.Load(); d != nil && d.version == h.Version() && sameQuery(d.query, q) {
		return d.b, d.version
	}
	v, n := h.WriteStatus(buf, q)
	if n < largeDocument {
		return buf.Bytes(), v
	}
	b := bytes.Clone(buf.Bytes())
	h.doc.Store(&docCache{version: v, query: Query{Service: q.Service, After: q.After, Limit: q.Limit,
		Statuses: slices.Clone(q.Statuses)}, b: b})
	return b, v
}

// WriteStatus writes the status document of the components q selects to buf and returns the
// model's version it shows (the ETag) and how many components it holds.
func (h *Hub) WriteStatus(buf *bytes.Buffer, q Query) (uint64, int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	buf.WriteString(`{"version":`)
	buf.WriteString(strconv.FormatUint(h.version, 10))
	buf.WriteString(`,"updated_at":`)
	if h.updatedAt.IsZero() {
		buf.WriteString("null")
	} else {
		buf.Write(encode(h.updatedAt.UTC()))
	}
	buf.WriteString(`,"overall":`)
	buf.Write(h.overallJSON())
	buf.WriteString(`,"components":[`)
	next := ""
	n := 0
	emit := func(c *component) bool {
		if !statusIn(c.status, q.Statuses) {
			return true
		}
		if n == q.Limit {
			return false
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(h.json(c))
		n++
		next = c.name
		return true
	}
	complete := true
	if q.Service != "" {
		if c, ok := h.comps.Load(q.Service); ok {
			emit(c)
		}
	} else {
		names := h.names
		if names == nil { // changed since the last pass by a transition or healing decision
			names = make([]string, 0, h.comps.Len())
			for n := range h.comps.All() {
				names = append(names, n)
			}
			slices.Sort(names)
		}
		start, _ := slices.BinarySearch(names, q.After)
		if q.After != "" && start < len(names) && names[start] == q.After {
			start++
		}
		for _, name := range names[start:] {
			c, ok := h.comps.Load(name)
			if !ok {
				continue
			}
			if !emit(c) {
				complete = false
				break
			}
		}
	}
	buf.WriteString(`],"next":`)
	if complete {
		buf.WriteString("null")
	} else {
		buf.Write(encode(next))
	}
	buf.WriteString("}\n")
	return h.version, n
}

func statusIn(s string, set []string) bool {
	return len(set) == 0 || slices.Contains(set, s)
}

// overallJSON returns the overall verdict's JSON, computed once per version. The caller holds
// a lock.
func (h *Hub) overallJSON() []byte {
	if e := h.overallCache.Load(); e != nil && e.ver == h.version {
		return e.b
	}
	b := encode(h.overall())
	h.overallCache.Store(&encoded{ver: h.version, b: b})
	return b
}

// overall computes the system's verdict. The caller holds a lock.
func (h *Hub) overall() Overall {
	ov := Overall{Status: StatusUnknown, Rule: OverallRule, Components: h.comps.Len(),
		Counts:        map[string]int{StatusHealthy: 0, StatusDegraded: 0, StatusUnhealthy: 0, StatusUnknown: 0},
		OpenIncidents: h.incidents.openCount()}
	var sum float64
	known := 0
	critMin, critFound := math.Inf(1), false
	var critWorst []string
	for _, c := range h.comps.All() {
		ov.Counts[c.status]++
		if !c.known {
			continue
		}
		sum += c.score
		known++
		if h.critical[c.name] {
			critFound = true
			switch {
			case c.score < critMin:
				critMin, critWorst = c.score, append(critWorst[:0], c.name)
			case c.score == critMin:
				critWorst = append(critWorst, c.name)
			}
		}
	}
	if known == 0 {
		return ov
	}
	score := sum / float64(known)
	if critFound && critMin < score {
		score = critMin
		slices.Sort(critWorst)
		ov.Worst = critWorst
	}
	ov.Score = &score
	switch {
	case score >= h.healthy:
		ov.Status = StatusHealthy
	case score >= h.degraded:
		ov.Status = StatusDegraded
	default:
		ov.Status = StatusUnhealthy
	}
	return ov
}

// Stats are the model's counts, for the extension's own telemetry.
type Stats struct {
	Components, OpenIncidents, WatchStreams int
	Dropped, IncidentsRefused, WatchDropped uint64
}

// Stats returns the model's counts.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	s := Stats{Components: h.comps.Len(), OpenIncidents: h.incidents.openCount(), Dropped: h.dropped.Load(),
		IncidentsRefused: h.incidents.refused}
	h.mu.RUnlock()
	s.WatchStreams, s.WatchDropped = h.Watchers()
	return s
}

// Health is the verdict of /v1/health/{service}.
type Health struct {
	Service string       `json:"service"`
	Healthy bool         `json:"healthy"`
	Status  string       `json:"status"`
	Score   *float64     `json:"score"`
	Reason  string       `json:"reason"`
	Breaker *breakerView `json:"breaker,omitempty"`
	// Incident is the open incident's ID, if any.
	Incident  string     `json:"incident,omitempty"`
	RootCause []string   `json:"root_cause,omitempty"`
	UpdatedAt *time.Time `json:"updated_at"`
}

// Health returns the load-balancer verdict of service: healthy unless the status is unhealthy
// or the breaker refuses calls (open, forced_open). An unknown status is healthy (Vigil has no
// evidence against the service, and a load balancer should not drain it on silence), with the
// reason saying so. ok is false when the hub does not know the service.
func (h *Hub) Health(service string) (Health, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	c, ok := h.comps.Load(service)
	if !ok {
		return Health{}, false
	}
	v := Health{Service: c.name, Status: c.status, Score: floatPtr(c.score), Breaker: c.breaker, Healthy: true,
		RootCause: c.rootCause}
	if c.incident != nil && !c.incident.evicted {
		v.Incident = c.incident.id
	}
	if !c.seenAt.IsZero() {
		at := c.seenAt.UTC()
		v.UpdatedAt = &at
	}
	switch {
	case c.breaker != nil && (c.breaker.State == "open" || c.breaker.State == "forced_open"):
		v.Healthy = false
		v.Reason = "breaker " + c.breaker.State + ": " + c.breaker.Reason
	case c.status == StatusUnhealthy:
		v.Healthy = false
		v.Reason = "score " + strconv.FormatFloat(c.score, 'f', 3, 64) + " below the degraded cut-off " +
			strconv.FormatFloat(h.degraded, 'f', 3, 64) + h.weakest(c)
	case c.status == StatusUnknown:
		v.Reason = "no fresh signal: status unknown"
	default:
		v.Reason = c.status
	}
	return v, true
}

// weakest names c's lowest signal, for a reason.
func (h *Hub) weakest(c *component) string {
	best := -1
	for i, s := range c.signals {
		if best < 0 || s.Value < c.signals[best].Value {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return "; weakest signal " + c.signals[best].Name + " " + strconv.FormatFloat(c.signals[best].Value, 'f', 3, 64)
}

// IncidentQuery selects incidents.
type IncidentQuery struct {
	Service string
	// State is open, resolved or empty for both.
	State string
	// Before is the page cursor: only incidents older than this ID.
	Before uint64
	Limit  int
}

// IncidentView is one incident with its timeline, oldest event first.
type IncidentView struct {
	ID         string     `json:"id"`
	Service    string     `json:"service"`
	State      string     `json:"state"`
	OpenedAt   time.Time  `json:"opened_at"`
	ResolvedAt *time.Time `json:"resolved_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	// Cause is the kind of the event that opened it.
	Cause     string   `json:"cause"`
	RootCause []string `json:"root_cause,omitempty"`
	// LastAction is the latest healing decision that named an action.
	LastAction    *Event  `json:"last_action"`
	Events        []Event `json:"events"`
	DroppedEvents int     `json:"dropped_events"`
}

func (h *Hub) view(inc *incident) IncidentView {
	v := IncidentView{ID: inc.id, Service: inc.service, State: "open", OpenedAt: inc.openedAt, UpdatedAt: inc.updatedAt,
		Events: slices.Clone(inc.events), DroppedEvents: inc.dropped}
	if !inc.resolvedAt.IsZero() {
		at := inc.resolvedAt
		v.ResolvedAt, v.State = &at, "resolved"
	} else if c, ok := h.comps.Load(inc.service); ok {
		v.RootCause = c.rootCause
	}
	slices.SortStableFunc(v.Events, func(a, b Event) int { return a.At.Compare(b.At) })
	if len(inc.events) > 0 {
		v.Cause = inc.events[0].Kind
	}
	for i := len(v.Events) - 1; i >= 0; i-- {
		if v.Events[i].Kind == KindHealing && v.Events[i].Action != "" {
			e := v.Events[i]
			v.LastAction = &e
			break
		}
	}
	return v
}

// Incidents returns the incidents q selects, newest first, and the cursor of the next page (0:
// none).
func (h *Hub) Incidents(q IncidentQuery) ([]IncidentView, uint64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := []IncidentView{}
	for _, inc := range h.incidents.newestFirst() {
		if q.Before != 0 && inc.seq >= q.Before {
			continue
		}
		if q.Service != "" && inc.service != q.Service {
			continue
		}
		open := inc.resolvedAt.IsZero()
		if (q.State == "open" && !open) || (q.State == "resolved" && open) {
			continue
		}
		if len(out) == q.Limit {
			return out, out[len(out)-1].seq()
		}
		out = append(out, h.view(inc))
	}
	return out, 0
}

func (v IncidentView) seq() uint64 {
	n, _ := strconv.ParseUint(v.ID, 10, 64)
	return n
}

// Incident returns one incident by ID.
func (h *Hub) Incident(id string) (IncidentView, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	inc, ok := h.incidents.reg.Load(id)
	if !ok {
		return IncidentView{}, false
	}
	return h.view(inc), true
}

// Dependencies returns the service graph of the last pass, optionally only the edges where
// service is the caller or the callee.
func (h *Hub) Dependencies(service string) (time.Time, []statusfeed.Edge) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if service == "" {
		return h.updatedAt, slices.Clone(h.edges)
	}
	out := []statusfeed.Edge{}
	if c, ok := h.comps.Load(service); ok {
		for _, i := range c.calls {
			out = append(out, h.edges[i])
		}
		for _, i := range c.calledBy {
			out = append(out, h.edges[i])
		}
	}
	return h.updatedAt, out
}
