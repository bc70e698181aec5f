package hub

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
	"github.com/vigil-collector/vigil/internal/fanout"
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
type Subscription = fanout.Subscription[Message]

// Subscribe opens a feed of every change; call the returned function to close it.
func (h *Hub) Subscribe() (*Subscription, func(), error) { return h.watch.Subscribe() }

// Watchers returns how many streams are open and how many messages they missed in all.
func (h *Hub) Watchers() (open int, dropped uint64) {
	return h.watch.Subscribers(), h.watch.Dropped()
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
