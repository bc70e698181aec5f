package breakerfeed

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The names are part of the API contract (transitions, states) and the numbers of the
// breaker.state metric: they must not drift.
func TestNames(t *testing.T) {
	assert.Equal(t, "success", Success.String())
	assert.Equal(t, "error", Error.String())
	assert.Equal(t, "timeout", Timeout.String())
	assert.Equal(t, "unknown", Class(9).String())
	assert.Equal(t, "closed", Closed.String())
	assert.Equal(t, "half_open", HalfOpen.String())
	assert.Equal(t, "open", Open.String())
	assert.Equal(t, "unknown", State(9).String())
	assert.Equal(t, []State{0, 1, 2}, []State{Closed, HalfOpen, Open})
}
