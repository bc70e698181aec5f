package hub

import (
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// The event names of the watch stream.
const (
	// EventTransition is a breaker transition, as the breaker's stream has always shown it.
	EventTransition = "transition"
	// EventComponent is a component's status change, or a score move of at least score_change.
	EventComponent = "component"
	// EventIncident is an incident opened, updated, acted on or resolved.
	EventIncident = "incident"
)

// ErrTooManyWatchers is returned when watch.max_subscribers streams are already open.
var ErrTooManyWatchers = errors.New("too many watch streams")

// ErrClosed is returned by Subscribe once the hub is closed.
var ErrClosed = errors.New("the status extension is shutting down")

// Message is one watch event, encoded once for every subscriber.
type Message struct {
	Event   string
	Service string
	// Caller is set on a transition of a caller's own view of Service: only that caller's
	// watchers see it.
	Caller string
	Data   []byte
}

type message = Message

// Subscription is one watch stream's feed; C is closed when the hub closes.
type Subscription struct {
	C       chan Message
	dropped atomic.Uint64
}

// Dropped returns how many messages this subscription missed because its buffer was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

type watchers struct {
	max, buffer int
	mu          sync.Mutex
	subs        map[*Subscription]struct{}
	closed      bool
	dropped     atomic.Uint64
}

func (w *watchers) init(max, buffer int) {
	w.max, w.buffer = max, buffer
	w.subs = map[*Subscription]struct{}{}
}

// Subscribe opens a feed of every change; call the returned function to close it.
func (h *Hub) Subscribe() (*Subscription, func(), error) {
	w := &h.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, nil, ErrClosed
	}
	if len(w.subs) >= w.max {
		return nil, nil, ErrTooManyWatchers
	}
	s := &Subscription{C: make(chan Message, w.buffer)}
	w.subs[s] = struct{}{}
	return s, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if _, ok := w.subs[s]; ok {
			delete(w.subs, s)
			close(s.C)
		}
	}, nil
}

// Watchers returns how many streams are open and how many messages they missed in all.
func (h *Hub) Watchers() (open int, dropped uint64) {
	h.watch.mu.Lock()
	defer h.watch.mu.Unlock()
	return len(h.watch.subs), h.watch.dropped.Load()
}

// send hands each message to every subscriber that has room; a full subscriber misses it.
func (w *watchers) send(msgs []Message) {
	if len(msgs) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for s := range w.subs {
		for _, m := range msgs {
			select {
			case s.C <- m:
			default:
				s.dropped.Add(1)
				w.dropped.Add(1)
			}
		}
	}
}

func (w *watchers) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for s := range w.subs {
		delete(w.subs, s)
		close(s.C)
	}
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{}`)
	}
	return b
}

func transitionMessage(tr statusfeed.Transition) Message {
	return Message{Event: EventTransition, Service: tr.Target, Caller: tr.Caller, Data: encode(tr)}
}

type componentEvent struct {
	Service        string    `json:"service"`
	Status         string    `json:"status"`
	PreviousStatus string    `json:"previous_status"`
	Score          *float64  `json:"score"`
	At             time.Time `json:"at"`
}

func (h *Hub) componentMessage(c *component, prev string) Message {
	return Message{Event: EventComponent, Service: c.name, Data: encode(componentEvent{
		Service: c.name, Status: c.status, PreviousStatus: prev, Score: floatPtr(c.score), At: c.seenAt})}
}

type incidentEvent struct {
	ID      string `json:"id"`
	Service string `json:"service"`
	// State is opened, updated, acted (a healing decision) or resolved.
	State string `json:"state"`
	Event Event  `json:"event"`
}

func incidentMessage(inc *incident, state string, ev Event) Message {
	return Message{Event: EventIncident, Service: inc.service, Data: encode(incidentEvent{
		ID: inc.id, Service: inc.service, State: state, Event: ev})}
}
