package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
)

// errTooManyWatchers is returned when watch.max_subscribers streams are already open.
var errTooManyWatchers = errors.New("too many watch streams")

// hub fans transitions out to watch streams. Publishing never blocks the breaker: a subscriber
// whose buffer is full misses the transition, and the miss is counted.
type hub struct {
	max, buffer int

	mu     sync.Mutex
	subs   map[*subscription]struct{}
	closed bool

	dropped atomic.Uint64
}

// subscription is one watch stream's feed; C is closed when the hub shuts down.
type subscription struct {
	C       chan breaker.Transition
	dropped atomic.Uint64
}

func newHub(maxSubscribers, buffer int) *hub {
	return &hub{max: maxSubscribers, buffer: buffer, subs: map[*subscription]struct{}{}}
}

// subscribe opens a feed; call the returned function to close it.
func (h *hub) subscribe() (*subscription, func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, errors.New("breaker extension is shutting down")
	}
	if len(h.subs) >= h.max {
		return nil, nil, errTooManyWatchers
	}
	s := &subscription{C: make(chan breaker.Transition, h.buffer)}
	h.subs[s] = struct{}{}
	return s, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[s]; ok {
			delete(h.subs, s)
			close(s.C)
		}
	}, nil
}

// publish hands tr to every subscriber that has room.
func (h *hub) publish(tr breaker.Transition) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.C <- tr:
		default:
			s.dropped.Add(1)
			h.dropped.Add(1)
		}
	}
}

// subscribers returns how many streams are open.
func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// close ends every feed, so the streams reading them return.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.C)
	}
}
