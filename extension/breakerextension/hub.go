package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"errors"

	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
	"github.com/vigil-collector/vigil/internal/fanout"
)

// errTooManyWatchers is returned when watch.max_subscribers streams are already open.
var errTooManyWatchers = errors.New("too many watch streams")

// hub fans transitions out to watch streams. Publishing never blocks the breaker: a subscriber
// whose buffer is full misses the transition, and the miss is counted.
type hub = fanout.Fanout[breaker.Transition]

func newHub(maxSubscribers, buffer int) *hub {
	return fanout.New[breaker.Transition](maxSubscribers, buffer,
		errors.New("breaker extension is shutting down"), errTooManyWatchers)
}
