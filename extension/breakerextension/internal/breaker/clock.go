package breaker

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the time in nanoseconds. The registry reads it on every recorded outcome and on
// decisions that depend on time (open and half-open), so tests drive every timed transition
// with a Fake clock instead of sleeping.
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

// Coarse is the production clock: reading it is one atomic load, because on some virtual
// machines time.Now costs more than everything else an outcome does. While started, a
// goroutine refreshes it every resolution; while not, Now falls back to the wall clock.
type Coarse struct {
	resolution time.Duration
	now        atomic.Int64
	running    atomic.Bool
	stop, done chan struct{}
}

// NewCoarse returns a stopped coarse clock that will tick every resolution once started.
func NewCoarse(resolution time.Duration) *Coarse {
	c := &Coarse{resolution: resolution}
	c.now.Store(time.Now().UnixNano())
	return c
}

// Now returns the time in Unix nanoseconds, at most one resolution old while started.
func (c *Coarse) Now() int64 {
	if c.running.Load() {
		return c.now.Load()
	}
	return time.Now().UnixNano()
}

// Start starts the ticking goroutine; Stop ends it. Start after Stop starts it again.
func (c *Coarse) Start() {
	if c.running.Load() {
		return
	}
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	c.now.Store(time.Now().UnixNano())
	c.running.Store(true)
	go func() {
		defer close(c.done)
		t := time.NewTicker(c.resolution)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case now := <-t.C:
				c.now.Store(now.UnixNano())
			}
		}
	}()
}

// Stop ends the ticking goroutine and waits for it.
func (c *Coarse) Stop() {
	if !c.running.Load() {
		return
	}
	c.running.Store(false)
	close(c.stop)
	<-c.done
}
