package guardprocessor

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/vigil-collector/vigil/processor/guardprocessor/internal/metadata"
)

// benchBatch is 100 resources of 10 gauges with two attributes each: 1,000 points.
func benchBatch() pmetric.Metrics {
	md := pmetric.NewMetrics()
	for r := range 100 {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", fmt.Sprintf("service-%03d", r))
		rm.Resource().Attributes().PutStr("host.name", "host-1")
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("app")
		for m := range 10 {
			mt := sm.Metrics().AppendEmpty()
			mt.SetName(fmt.Sprintf("app.metric.%d", m))
			dp := mt.SetEmptyGauge().DataPoints().AppendEmpty()
			dp.Attributes().PutStr("route", "/api/items")
			dp.Attributes().PutStr("method", "GET")
			dp.SetDoubleValue(1)
		}
	}
	return md
}

// BenchmarkGuardMetrics is the guard on a batch whose series are known (the steady state), beside
// BenchmarkBatchCopy, the cost of copying the same batch once (the baseline every pipeline stage
// that mutates data pays when fanning out): compare the two in one run (benchstat).
func BenchmarkGuardMetrics(b *testing.B) {
	benchGuard(b, signalMetrics, benchBatch(), pmetric.NewMetrics, (*guard).processMetrics)
}

// benchGuard times process on a fresh copy of src per iteration (copied untimed into what empty
// returns), by a guard of signal that saw the batch once before: its series are known, the
// steady state.
func benchGuard[T interface{ CopyTo(T) }](b *testing.B, signal string, src T, empty func() T, process func(*guard, context.Context, T) (T, error)) {
	g, err := newGuard(processortest.NewNopSettings(metadata.Type), createDefaultConfig().(*Config), signal)
	if err != nil {
		b.Fatal(err)
	}
	fresh := func() T {
		batch := empty()
		src.CopyTo(batch)
		return batch
	}
	if _, err := process(g, context.Background(), fresh()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		batch := fresh()
		b.StartTimer()
		if _, err := process(g, context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatchCopy is the baseline: one copy of the benchmark batch.
func BenchmarkBatchCopy(b *testing.B) {
	src := benchBatch()
	b.ReportAllocs()
	for range b.N {
		md := pmetric.NewMetrics()
		src.CopyTo(md)
	}
}

// BenchmarkTrackerMemory reports the heap held per tracked series.
func BenchmarkTrackerMemory(b *testing.B) {
	const n = 100_000
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		t := newTracker(SeriesConfig{MaxSeries: n, MaxNewPerInterval: n, Interval: time.Minute, Expiration: time.Hour})
		t.begin(time.Unix(0, 0))
		for i := range uint64(n) {
			t.admit(i*0x9e3779b97f4a7c15, 1, 1)
		}
		t.end()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/series")
		runtime.KeepAlive(t)
	}
}

// benchSpans is 100 resources of 10 spans (five names, two attributes and an event each): 1,000
// spans.
func benchSpans() ptrace.Traces {
	td := ptrace.NewTraces()
	for r := range 100 {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("service-%03d", r))
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("app")
		for s := range 10 {
			sp := ss.Spans().AppendEmpty()
			sp.SetName(fmt.Sprintf("GET /api/items/%d", s%5))
			sp.SetKind(ptrace.SpanKindServer)
			sp.Attributes().PutStr("http.route", "/api/items")
			sp.Attributes().PutStr("http.method", "GET")
			sp.Events().AppendEmpty().SetName("exception")
		}
	}
	return td
}

// BenchmarkGuardTraces is the guard on a span batch whose series are known (the steady state).
func BenchmarkGuardTraces(b *testing.B) {
	benchGuard(b, signalTraces, benchSpans(), ptrace.NewTraces, (*guard).processTraces)
}
