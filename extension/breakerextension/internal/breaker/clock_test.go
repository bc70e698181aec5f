package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCoarseClock(t *testing.T) {
	c := NewCoarse(time.Millisecond)
	// Stopped: the wall clock.
	assert.InDelta(t, time.Now().UnixNano(), c.Now(), float64(time.Second))
	c.Start()
	c.Start() // idempotent
	first := c.Now()
	assert.Eventually(t, func() bool { return c.Now() > first }, 5*time.Second, time.Millisecond, "it ticks")
	c.Stop()
	c.Stop()
	assert.InDelta(t, time.Now().UnixNano(), c.Now(), float64(time.Second))
	c.Start() // restartable
	c.Stop()
}

func TestFakeClock(t *testing.T) {
	f := NewFake(epoch)
	f.Advance(time.Minute)
	assert.Equal(t, epoch.Add(time.Minute), f.Time().UTC())
}
