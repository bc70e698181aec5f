package healthscoreprocessor

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/metadata"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/testbatch"
)

// The benchmarks here put the processor beside contrib's spanmetricsconnector on the same batches,
// both through their ConsumeTraces as a pipeline calls them: spanmetricsconnector aggregates every
// batch under one mutex, the processor takes no lock on the span path. Compare the serial and the
// parallel figures of each: the parallel wall time per span of a component that scales is about
// half its serial time on two cores.

// batchesFor returns one batch per goroutine, each with its own services (as concurrent OTLP
// requests from different applications are).
func batchesFor(n int) []ptrace.Traces {
	out := make([]ptrace.Traces, n)
	for i := range out {
		out[i] = testbatch.Named(fmt.Sprintf("service-%02d", i), 8, 128, time.Now())
	}
	return out
}

func benchConsume(b *testing.B, next consumer.Traces, parallel bool) {
	ctx := context.Background()
	batches := batchesFor(64)
	for _, td := range batches {
		if err := next.ConsumeTraces(ctx, td); err != nil { // the steady state: every name known
			b.Fatal(err)
		}
	}
	spans := batches[0].SpanCount()
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		var g atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			td := batches[g.Add(1)-1]
			for pb.Next() {
				if err := next.ConsumeTraces(ctx, td); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for b.Loop() {
			if err := next.ConsumeTraces(ctx, batches[0]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

func startHealthscore(b *testing.B) consumer.Traces {
	f := NewFactory()
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	return started(b, p, err)
}

func startSpanMetrics(b *testing.B) consumer.Traces {
	f := spanmetricsconnector.NewFactory()
	set := connector.Settings{
		ID:                component.NewID(f.Type()),
		TelemetrySettings: componenttest.NewNopTelemetrySettings(),
		BuildInfo:         component.NewDefaultBuildInfo(),
	}
	c, err := f.CreateTracesToMetrics(context.Background(), set, f.CreateDefaultConfig(), consumertest.NewNop())
	return started(b, c, err)
}

// tracesComponent is a component that takes traces: a processor or a connector.
type tracesComponent interface {
	component.Component
	consumer.Traces
}

// started starts c, just created (err: its creation's error), and shuts it down when the
// benchmark ends.
func started(b *testing.B, c tracesComponent, err error) consumer.Traces {
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	return c
}

// BenchmarkConsumeTraces is the processor's traces half in a pipeline (processorhelper's
// accounting included), without a breaker.
func BenchmarkConsumeTraces(b *testing.B) { benchConsume(b, startHealthscore(b), false) }

// BenchmarkConsumeTracesParallel is the same from every core, each on its own services.
func BenchmarkConsumeTracesParallel(b *testing.B) { benchConsume(b, startHealthscore(b), true) }

// BenchmarkSpanMetricsConsumeTraces is spanmetricsconnector (default config) on the same batches.
func BenchmarkSpanMetricsConsumeTraces(b *testing.B) { benchConsume(b, startSpanMetrics(b), false) }

// BenchmarkSpanMetricsConsumeTracesParallel is spanmetricsconnector from every core.
func BenchmarkSpanMetricsConsumeTracesParallel(b *testing.B) {
	benchConsume(b, startSpanMetrics(b), true)
}
