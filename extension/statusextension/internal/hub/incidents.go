package hub

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-collector/vigil/internal/registry"
)

// The kinds of timeline events.
const (
	// KindProbe: the component's probe signal went failing or passing again.
	KindProbe = "probe"
	// KindScore: the component's status changed (its score crossed a cut-off).
	KindScore = "score"
	// KindBreaker: the component's breaker changed state.
	KindBreaker = "breaker"
	// KindHealing: the healing exporter decided something about the component.
	KindHealing = "healing"
	// KindResolved: nothing about the component is bad any more; the incident is over.
	KindResolved = "resolved"
)

// Event is one entry of an incident's timeline.
type Event struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Service string    `json:"service"`
	// Status: probe failing/passing; the component's new status for a score event.
	Status    string   `json:"status,omitempty"`
	From      string   `json:"from,omitempty"`
	To        string   `json:"to,omitempty"`
	Score     *float64 `json:"score,omitempty"`
	Threshold *float64 `json:"threshold,omitempty"`
	Mode      string   `json:"mode,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	// Counts are the breaker's counts behind a transition.
	Counts   json.RawMessage `json:"counts,omitempty"`
	Rule     string          `json:"rule,omitempty"`
	Decision string          `json:"decision,omitempty"`
	Action   string          `json:"action,omitempty"`
	DryRun   bool            `json:"dry_run,omitempty"`
	// Healing is the healing exporter's incident ID.
	Healing string `json:"healing_incident,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// incident is one episode of a component's ill health, from the first bad sign to the moment
// nothing is bad any more.
type incident struct {
	id         string
	seq        uint64
	service    string
	openedAt   time.Time
	resolvedAt time.Time // zero while open
	updatedAt  time.Time
	events     []Event
	dropped    int
	evicted    bool // gone from the store (past its cap, or its retention)
}

// add appends ev to the timeline, keeping the first event (what opened it) and the newest.
func (inc *incident) add(ev Event, max int) {
	if len(inc.events) >= max && max > 1 {
		copy(inc.events[1:], inc.events[2:])
		inc.events = inc.events[:len(inc.events)-1]
		inc.dropped++
	}
	inc.events = append(inc.events, ev)
	if ev.At.After(inc.updatedAt) {
		inc.updatedAt = ev.At
	}
}

// incidents is the bounded store, one of Vigil's bounded sets of names (internal/registry):
// keyed by ID, at most max_incidents, the oldest resolved evicted first; an open incident is
// pinned, so when every incident is open a new one is refused (and counted) rather than an open
// one forgotten.
type incidents struct {
	retention time.Duration
	seq       uint64
	reg       *registry.Registry[*incident]
	refused   uint64
}

func (s *incidents) init(set Settings) {
	s.retention = set.IncidentRetention
	s.reg = registry.New(registry.Options[*incident]{
		Cap:     set.MaxIncidents,
		Seen:    func(inc *incident) int64 { return int64(inc.seq) },
		Pinned:  func(inc *incident) bool { return inc.resolvedAt.IsZero() },
		OnEvict: func(inc *incident) { inc.evicted = true },
	})
}

// open starts an incident for service; nil when every kept incident is open and the store is
// full.
func (s *incidents) open(service string, at time.Time) *incident {
	s.seq++
	id := strconv.FormatUint(s.seq, 10)
	inc, err := s.reg.Get(id, func(key string) *incident {
		return &incident{id: key, seq: s.seq, service: service, openedAt: at, updatedAt: at}
	})
	if err != nil {
		s.refused++
		return nil
	}
	return inc
}

func (s *incidents) resolve(inc *incident, at time.Time) {
	inc.resolvedAt = at
	if at.Before(inc.openedAt) {
		inc.resolvedAt = inc.openedAt
	}
}

// newestFirst returns every kept incident, the newest first.
func (s *incidents) newestFirst() []*incident {
	all := make([]*incident, 0, s.reg.Len())
	for _, inc := range s.reg.All() {
		all = append(all, inc)
	}
	slices.SortFunc(all, func(a, b *incident) int { return cmp.Compare(b.seq, a.seq) })
	return all
}

// holding returns the newest incident of service whose timeline names the healing incident id.
func (s *incidents) holding(service, id string) *incident {
	if id == "" {
		return nil
	}
	var found *incident
	for _, inc := range s.reg.All() {
		if inc.service != service || (found != nil && found.seq > inc.seq) {
			continue
		}
		for i := len(inc.events) - 1; i >= 0; i-- {
			if inc.events[i].Healing == id {
				found = inc
				break
			}
		}
	}
	return found
}

// expire removes resolved incidents older than the retention.
func (s *incidents) expire(now time.Time) {
	cut := now.Add(-s.retention)
	for _, inc := range s.reg.DeleteFunc(func(_ string, inc *incident) bool {
		return !inc.resolvedAt.IsZero() && inc.resolvedAt.Before(cut)
	}) {
		inc.evicted = true
	}
}

func (s *incidents) openCount() int {
	n := 0
	for _, inc := range s.reg.All() {
		if inc.resolvedAt.IsZero() {
			n++
		}
	}
	return n
}
