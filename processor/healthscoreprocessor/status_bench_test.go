package healthscoreprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/vigil-collector/vigil/extension/breakerextension"
	"github.com/vigil-collector/vigil/extension/statusextension"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/metadata"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/testbatch"
)

// fleetComponents is how many services the publishing benchmarks have scored.
const fleetComponents = 10_000

// BenchmarkSpanPathPublishing is the span path of the built collector (healthscore feeding the
// real breaker extension) with and without the status extension, side by side: with it, the
// breaker publishes its transitions and each pass is published, but a span itself publishes
// nothing. Run with -count and compare the two ns/span figures of one run.
func BenchmarkSpanPathPublishing(b *testing.B) {
	for _, published := range []bool{false, true} {
		b.Run(statusName(published), func(b *testing.B) {
			traces, _ := startPublishing(b, published)
			benchConsume(b, traces, false)
		})
	}
}

// BenchmarkPassPublishing is one scoring pass over 10,000 components with and without
// publishing it to the status extension: the second minus the first is what publishing costs
// per interval, to spread over the interval's spans.
func BenchmarkPassPublishing(b *testing.B) {
	for _, published := range []bool{false, true} {
		b.Run(statusName(published), func(b *testing.B) {
			_, hs := startPublishing(b, published)
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(10 * time.Second)
				hs.scoreOnce(now)
			}
		})
	}
}

func statusName(published bool) string {
	if published {
		return "status=published"
	}
	return "status=none"
}

// startPublishing starts the breaker extension (mounted on an unstarted status extension when
// published) and a healthscore processor feeding both, with the fleet scored once.
func startPublishing(b *testing.B, published bool) (consumer.Traces, *healthScore) {
	ctx := context.Background()
	exts := map[component.ID]component.Component{}
	statusID, breakerID := component.MustNewID("status"), component.MustNewID("breaker")
	if published {
		sf := statusextension.NewFactory()
		scfg := sf.CreateDefaultConfig().(*statusextension.Config)
		scfg.NetAddr.Endpoint = "127.0.0.1:0"
		st, err := sf.Create(ctx, extensiontest.NewNopSettings(sf.Type()), scfg)
		if err != nil {
			b.Fatal(err)
		}
		exts[statusID] = st // not started: publishing needs no listener
	}
	bf := breakerextension.NewFactory()
	bcfg := bf.CreateDefaultConfig().(*breakerextension.Config)
	if published {
		bcfg.StatusExtension = statusID
	}
	br, err := bf.Create(ctx, extensiontest.NewNopSettings(bf.Type()), bcfg)
	if err != nil {
		b.Fatal(err)
	}
	exts[breakerID] = br
	host := testHost(exts)
	if err := br.Start(ctx, host); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Shutdown(ctx) })

	cfg := createDefaultConfig().(*Config)
	cfg.Interval = time.Hour // passes are run by the benchmark
	cfg.MaxComponents = 2 * fleetComponents
	cfg.Breaker = breakerID
	if published {
		cfg.StatusExtension = statusID
	}
	fi := newFactory()
	set := processortest.NewNopSettings(metadata.Type)
	traces, err := fi.processorFactory().CreateTraces(ctx, set, cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	metrics, err := fi.processorFactory().CreateMetrics(ctx, set, cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []component.Component{traces, metrics} {
		if err := c.Start(ctx, host); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		_ = traces.Shutdown(ctx)
		_ = metrics.Shutdown(ctx)
	})
	hs := fi.instances[set.ID]

	// The fleet, scored once.
	for s := 0; s < fleetComponents; s += 100 {
		td := ptrace.NewTraces()
		for i := s; i < s+100; i++ {
			testbatch.Named(fmt.Sprintf("fleet-%05d", i), 1, 4, time.Now()).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		}
		if err := traces.ConsumeTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
	}
	hs.scoreOnce(time.Now())
	return traces, hs
}
