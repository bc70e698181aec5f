package harness

import (
	"sync"
	"time"
)

// Repeat calls fn at once and then every interval, in a goroutine of its own, until fn returns
// false or stop is called: the steady traffic or polling of a test. stop waits for the goroutine
// to end; it may be called more than once.
func Repeat(interval time.Duration, fn func() bool) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for fn() {
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}
