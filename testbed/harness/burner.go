package harness

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// burnSink takes each burner goroutine's result, so the compiler keeps the work.
var burnSink atomic.Uint64

// Burner keeps the machine's CPUs busy, the way a test suite running beside a service does. It is
// bounded: it stops by itself after its limit, and Stop ends it sooner.
type Burner struct {
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// StartBurner starts one spinning goroutine per CPU for at most limit.
func StartBurner(limit time.Duration) *Burner {
	b := &Burner{stop: make(chan struct{})}
	deadline := time.Now().Add(limit)
	for range runtime.NumCPU() {
		b.wg.Go(func() {
			x := uint64(1)
			for n := 0; ; n++ {
				// A little arithmetic between checks, so a check costs nothing next to the burn.
				for range 1 << 16 {
					x = x*6364136223846793005 + 1442695040888963407
				}
				select {
				case <-b.stop:
					burnSink.Add(x)
					return
				default:
				}
				if n%64 == 0 && time.Now().After(deadline) {
					burnSink.Add(x)
					return
				}
			}
		})
	}
	return b
}

// Stop ends the burn and waits for its goroutines.
func (b *Burner) Stop() {
	b.once.Do(func() { close(b.stop) })
	b.wg.Wait()
}
