package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFakeClock(t *testing.T) {
	f := NewFake(epoch)
	f.Advance(time.Minute)
	assert.Equal(t, epoch.Add(time.Minute), f.Time().UTC())
}
