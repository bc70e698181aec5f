package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWindowRotatesAndSums(t *testing.T) {
	width := int64(time.Second)
	now := int64(100 * time.Second)
	w := newWindow(4, width, now)
	var completed []counts
	done := func(c counts, _ int64) { completed = append(completed, c) }
	for i := 0; i < 4; i++ {
		w.advance(now+int64(i)*width, done)
		w.record(counts{calls: 2, failures: 1})
	}
	assert.Equal(t, counts{calls: 8, failures: 4}, w.sum)
	assert.Len(t, completed, 3)
	// One more second: the oldest bucket leaves the window.
	w.advance(now+4*width, done)
	assert.Equal(t, counts{calls: 6, failures: 3}, w.sum)
	// since() counts only buckets that started at or after t, and always the current one.
	assert.Equal(t, counts{calls: 2, failures: 1}, w.since(now+3*width))
	assert.Equal(t, counts{}, w.since(now+10*width))
	assert.Equal(t, w.sum, w.since(0))
	// Idle for longer than the window: everything is stale.
	w.record(counts{calls: 1})
	w.advance(now+100*width, done)
	assert.Equal(t, counts{}, w.sum)
	assert.Equal(t, counts{calls: 1}, completed[len(completed)-1])
}

func TestWindowBucketsAligned(t *testing.T) {
	w := newWindow(10, int64(time.Second), int64(1500*time.Millisecond))
	assert.Equal(t, int64(time.Second), w.start)
}
