package breaker

import (
	"sync"
	"time"
)

// Clock tells the time in nanoseconds. The registry reads it for outcomes recorded without a
// time (RecordOutcome), probes, overrides and decisions that depend on time (open and
// half-open), so tests drive every timed transition with a Fake clock instead of sleeping.
// Outcomes fed in batches take their time from the caller (RecordOutcomeAt): the clock is read
// once per batch, and no goroutine keeps a cached clock ticking.
type Clock interface {
	Now() int64
}

// SystemClock reads the wall clock.
type SystemClock struct{}

// Now returns the current Unix time in nanoseconds.
func (SystemClock) Now() int64 { return time.Now().UnixNano() }

// Fake is a clock that moves only when told to. It is safe for concurrent use.
type Fake struct {
	mu  sync.Mutex
	now int64
}

// NewFake returns a fake clock set to start.
func NewFake(start time.Time) *Fake { return &Fake{now: start.UnixNano()} }

// Now returns the fake time.
func (f *Fake) Now() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the fake time forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now += int64(d)
	f.mu.Unlock()
}

// Time returns the fake time as a time.Time.
func (f *Fake) Time() time.Time { return time.Unix(0, f.Now()) }
