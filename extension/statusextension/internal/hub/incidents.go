package hub

import (
	"encoding/json"
	"strconv"
	"time"
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
	prev, next *incident // in the store's list, oldest first
	evicted    bool
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

// incidents is the bounded store: a list oldest first, and an index by ID.
type incidents struct {
	max       int
	retention time.Duration
	maxEvents int
	seq       uint64
	byID      map[string]*incident
	head      *incident // oldest
	tail      *incident // newest
	count     int
	evicted   uint64
}

func (s *incidents) init(set Settings) {
	s.max, s.retention, s.maxEvents = set.MaxIncidents, set.IncidentRetention, set.MaxEvents
	s.byID = map[string]*incident{}
}

// open starts an incident for service.
func (s *incidents) open(service string, at time.Time) *incident {
	s.seq++
	inc := &incident{id: strconv.FormatUint(s.seq, 10), seq: s.seq, service: service, openedAt: at, updatedAt: at}
	s.byID[inc.id] = inc
	if s.tail == nil {
		s.head, s.tail = inc, inc
	} else {
		inc.prev, s.tail.next, s.tail = s.tail, inc, inc
	}
	s.count++
	for s.count > s.max {
		s.evictOne()
	}
	return inc
}

func (s *incidents) resolve(inc *incident, at time.Time) {
	inc.resolvedAt = at
	if at.Before(inc.openedAt) {
		inc.resolvedAt = inc.openedAt
	}
}

// evictOne removes the oldest resolved incident, or the oldest when all are open (its
// component forgets it; the next bad sign opens a new one).
func (s *incidents) evictOne() {
	victim := s.head
	for inc := s.head; inc != nil; inc = inc.next {
		if !inc.resolvedAt.IsZero() {
			victim = inc
			break
		}
	}
	s.remove(victim)
	s.evicted++
}

func (s *incidents) remove(inc *incident) {
	if inc.prev != nil {
		inc.prev.next = inc.next
	} else {
		s.head = inc.next
	}
	if inc.next != nil {
		inc.next.prev = inc.prev
	} else {
		s.tail = inc.prev
	}
	inc.prev, inc.next = nil, nil
	delete(s.byID, inc.id)
	s.count--
	inc.evicted = true
}

// holding returns the newest incident of service whose timeline names the healing incident id.
func (s *incidents) holding(service, id string) *incident {
	if id == "" {
		return nil
	}
	for inc := s.tail; inc != nil; inc = inc.prev {
		if inc.service != service {
			continue
		}
		for i := len(inc.events) - 1; i >= 0; i-- {
			if inc.events[i].Healing == id {
				return inc
			}
		}
	}
	return nil
}

// expire removes resolved incidents older than the retention.
func (s *incidents) expire(now time.Time) {
	cut := now.Add(-s.retention)
	for inc := s.head; inc != nil; {
		next := inc.next
		if !inc.resolvedAt.IsZero() && inc.resolvedAt.Before(cut) {
			s.remove(inc)
		}
		inc = next
	}
}
