package health

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// BenchmarkVigilStatePerService reports the heap Vigil keeps per service (bytes/service): the
// healthscore component with its host link, its two outgoing edges and its latency baseline,
// and the breaker's target with its learned baseline, after three scoring intervals of spans
// with spread latencies, so every histogram and baseline the steady state has exists. The
// healthscore sub-benchmark leaves the breaker out.
func BenchmarkVigilStatePerService(b *testing.B) {
	const n = 2000
	for _, withBreaker := range []bool{false, true} {
		name := "healthscore"
		if withBreaker {
			name = "healthscore+breaker"
		}
		b.Run(name, func(b *testing.B) {
			var per float64
			for b.Loop() {
				per = measureServiceState(b, n, withBreaker)
			}
			b.ReportMetric(per, "bytes/service")
		})
	}
}

func measureServiceState(b *testing.B, n int, withBreaker bool) float64 {
	return heapPerEntry(n, func() any {
		s := testSettings()
		s.MaxComponents = n
		e := New(s)
		if withBreaker {
			e.SetFeeder(startBreaker(b))
		}
		name := func(i int) string { return fmt.Sprintf("service-%06d", i%n) }
		for pass := range 3 {
			now := t0.Add(time.Duration(pass) * s.Interval)
			for first := 0; first < n; first += 100 {
				td := ptrace.NewTraces()
				for i := first; i < first+100 && i < n; i++ {
					addResource(td, name(i), fmt.Sprintf("host-%03d", i%100),
						server(20, 0, 4*time.Millisecond), server(20, 1, 9*time.Millisecond),
						server(10, 0, 30*time.Millisecond), server(2, 0, 180*time.Millisecond),
						client(name(i+1), 10, 0, 2*time.Millisecond), client(name(i+1), 5, 0, 12*time.Millisecond),
						client(name(i+2), 10, 1, 3*time.Millisecond), client(name(i+2), 5, 0, 25*time.Millisecond))
				}
				e.ObserveTraces(td, now)
			}
			e.Score(now)
		}
		if got := e.Stats().Components; got != int64(n) {
			b.Fatalf("%d components, want %d", got, n)
		}
		if got := e.Stats().Edges; got != int64(2*n) {
			b.Fatalf("%d edges, want %d", got, 2*n)
		}
		return e
	})
}
