package health

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/extension/breakerextension"
	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/testbatch"
)

// nopFeeder is a breaker that takes outcomes and does nothing, to measure the engine alone.
type nopFeeder struct{}

func (nopFeeder) RecordOutcome(string, breakerfeed.Outcome)   {}
func (nopFeeder) RecordProbe(string, bool)                    {}
func (nopFeeder) Allow(string) bool                           { return true }
func (nopFeeder) State(string) (breakerfeed.State, bool)      { return breakerfeed.Closed, false }
func (nopFeeder) States(func(string, breakerfeed.State) bool) {}

// startBreaker creates and starts the real breaker extension (without an HTTP API).
func startBreaker(b *testing.B) breakerfeed.Feeder {
	f := breakerextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*breakerextension.Config)
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ext.Shutdown(context.Background()) })
	return ext.(breakerfeed.Feeder)
}

// parallelism says how a benchmark runs batches.
type parallelism int

const (
	serial parallelism = iota
	// sameServices: every goroutine observes copies of one batch, so all cores update the same
	// components' counters (the worst case for shared cache lines).
	sameServices
	// ownServices: each goroutine's batch holds its own services, calling the same peers, as
	// concurrent OTLP requests from different applications do.
	ownServices
)

func benchObserve(b *testing.B, feeder breakerfeed.Feeder, mode parallelism) {
	e := New(testSettings())
	e.SetFeeder(feeder)
	td := testbatch.Realistic(8, 128, t0)
	spans := td.SpanCount()
	e.ObserveTraces(td, t0) // every name known: the steady state
	var goroutines atomic.Int64
	batches := make([]ptrace.Traces, 64)
	for i := range batches {
		batches[i] = ptrace.NewTraces()
		td.CopyTo(batches[i])
		if mode == ownServices {
			batches[i] = testbatch.Named(fmt.Sprintf("service-%02d", i), 8, 128, t0)
		}
		e.ObserveTraces(batches[i], t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if mode != serial {
		b.RunParallel(func(pb *testing.PB) {
			mine := batches[goroutines.Add(1)-1]
			for pb.Next() {
				e.ObserveTraces(mine, t0)
			}
		})
	} else {
		for b.Loop() {
			e.ObserveTraces(td, t0)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

// BenchmarkObserveSpans is the span path alone (the breaker a no-op): ns and allocations per
// span of a realistic batch (8 services × 128 spans).
func BenchmarkObserveSpans(b *testing.B) { benchObserve(b, nopFeeder{}, serial) }

// BenchmarkObserveSpansParallelSameServices is the same from every core at once, every core on
// the same services.
func BenchmarkObserveSpansParallelSameServices(b *testing.B) {
	benchObserve(b, nopFeeder{}, sameServices)
}

// BenchmarkObserveSpansParallelOwnServices is every core at once, each on its own services.
func BenchmarkObserveSpansParallelOwnServices(b *testing.B) {
	benchObserve(b, nopFeeder{}, ownServices)
}

// BenchmarkObserveSpansWithBreaker feeds the real breaker extension: what a span costs in the
// built collector.
func BenchmarkObserveSpansWithBreaker(b *testing.B) { benchObserve(b, startBreaker(b), serial) }

// BenchmarkObserveSpansWithBreakerParallelOwnServices is the same from every core, each on its
// own services.
func BenchmarkObserveSpansWithBreakerParallelOwnServices(b *testing.B) {
	benchObserve(b, startBreaker(b), ownServices)
}

// BenchmarkScore10k is one scoring pass over 10,000 components with edges and hosts.
func BenchmarkScore10k(b *testing.B) {
	e := New(testSettings())
	for s := 0; s < 10_000; s += 100 {
		td := ptrace.NewTraces()
		for i := s; i < s+100; i++ {
			addResource(td, fmt.Sprintf("service-%05d", i), fmt.Sprintf("host-%03d", i%500),
				server(20, 1, 20*time.Millisecond), client(fmt.Sprintf("service-%05d", (i*7+1)%10_000), 20, 0, 5*time.Millisecond))
		}
		e.ObserveTraces(td, t0)
	}
	at := t0
	b.ReportAllocs()
	for b.Loop() {
		at = at.Add(10 * time.Second)
		e.Score(at)
	}
}

// BenchmarkNewNames is the cost of a never-seen service name at the cap (creation, index
// insertion, amortised eviction): the hostile-input path.
func BenchmarkNewNames(b *testing.B) {
	s := testSettings()
	s.MaxComponents = 10_000
	e := New(s)
	batches := make([]ptrace.Traces, 64)
	for i := range batches {
		batches[i] = ptrace.NewTraces()
		rs := batches[i].ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "x")
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for range 100 {
			sp := spans.AppendEmpty()
			sp.SetKind(ptrace.SpanKindClient)
			sp.SetStartTimestamp(1)
			sp.SetEndTimestamp(2)
		}
	}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		td := batches[n%len(batches)]
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := 0; i < spans.Len(); i++ {
			spans.At(i).Attributes().PutStr("peer.service", fmt.Sprintf("new-%d", n*100+i))
		}
		n++
		e.ObserveTraces(td, t0.Add(time.Duration(n)))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/name")
}

// BenchmarkMemoryPerComponent reports the heap per component: a service with its latency
// baseline, and the same with a host link and one outgoing edge.
func BenchmarkMemoryPerComponent(b *testing.B) {
	var bare, linked float64
	for b.Loop() {
		bare = measureComponentBytes(b, 10_000, false)
		linked = measureComponentBytes(b, 10_000, true)
	}
	b.ReportMetric(bare, "bytes/component")
	b.ReportMetric(linked, "bytes/component+host+edge")
}

// BenchmarkObserveSpans10kWithBreaker is the span path at 10,000 services in an agent's shape:
// requests of 128 resources, one a service, each with one SERVER span (its address and port),
// two CLIENT spans to other services and one INTERNAL span, fed to the real breaker. Every
// lookup then misses the CPU caches, as it does in a collector taking a large fleet's spans.
func BenchmarkObserveSpans10kWithBreaker(b *testing.B) {
	e := New(testSettings())
	e.SetFeeder(startBreaker(b))
	const services, perRequest = 10_000, 128
	name := func(i int) string { return fmt.Sprintf("service-%05d", i%services) }
	var batches []ptrace.Traces
	for s := 0; s < services; s += perRequest {
		td := ptrace.NewTraces()
		for i := s; i < min(s+perRequest, services); i++ {
			addResource(td, name(i), fmt.Sprintf("host-%03d", i%500),
				call{kind: ptrace.SpanKindServer, n: 1, latency: 20 * time.Millisecond,
					attrs: map[string]any{"server.address": name(i), "server.port": 8080}},
				client(name(i+1), 1, 0, 5*time.Millisecond), client(name(i+2), 1, 0, 5*time.Millisecond),
				call{kind: ptrace.SpanKindInternal, n: 1, latency: time.Millisecond})
		}
		e.ObserveTraces(td, t0) // every name known: the steady state
		batches = append(batches, td)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		e.ObserveTraces(batches[n%len(batches)], t0)
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*perRequest*4), "ns/span")
}
