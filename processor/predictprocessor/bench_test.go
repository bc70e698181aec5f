package predictprocessor

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/vigil-collector/vigil/processor/predictprocessor/internal/metadata"
)

// BenchmarkProcessMetrics is the processor's cost per watched point, end to end: a batch of 100
// filesystem series (warm), each point matched, keyed, learnt from and its predict.* appended.
func BenchmarkProcessMetrics(b *testing.B) {
	cfg := createDefaultConfig().(*Config)
	cfg.WarmUp = 0
	p, err := NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	const seriesPerBatch = 100
	batch := func(i int) pmetric.Metrics {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("host.name", "bench")
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("system.filesystem.utilization")
		g := m.SetEmptyGauge()
		for s := 0; s < seriesPerBatch; s++ {
			dp := g.DataPoints().AppendEmpty()
			dp.Attributes().PutStr("mountpoint", fmt.Sprintf("/mnt/%d", s))
			dp.Attributes().PutStr("state", "used")
			dp.SetTimestamp(pcommon.Timestamp(int64(1.7e18) + int64(i)*int64(10*time.Second)))
			dp.SetDoubleValue(0.5 + 1e-6*float64(i))
		}
		return md
	}
	for i := 0; i < cfg.WarmUpPoints; i++ {
		if err := p.ConsumeMetrics(context.Background(), batch(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := cfg.WarmUpPoints
	for b.Loop() {
		b.StopTimer()
		md := batch(i)
		i++
		b.StartTimer()
		if err := p.ConsumeMetrics(context.Background(), md); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*seriesPerBatch), "ns/point")
}

// BenchmarkBytesPerSeries measures the heap one series' state takes in the store (model, LRU
// entry, map slot), for each kind of rule.
func BenchmarkBytesPerSeries(b *testing.B) {
	kinds := map[string]WatchRule{
		"damped_trend":     {Metric: "m", Threshold: ptr(0.9)},
		"linear_1h_at_10s": {Metric: "m", Model: modelLinear, Window: time.Hour},
		"error_budget":     {Metric: "m", ErrorBudget: &ErrorBudgetConfig{Objective: 0.999}},
	}
	for name, w := range kinds {
		b.Run(name, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.Watch = []WatchRule{w}
			p, err := newPredictProcessor(processortest.NewNopSettings(metadata.Type), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer p.tel.Shutdown()
			r := compileRules(cfg)["m"][0]
			const n = 5_000
			points := 1
			if r.linear {
				points = 360 // an hour of points at 10 s fills the window
			}
			b.ReportAllocs()
			for b.Loop() {
				p.store = newStore(n)
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for i := 0; i < n; i++ {
					key := seriesKey{uint64(i), uint64(i) * 31}
					s, _ := p.store.getOrCreate(key, func() *series { return p.newSeries(r) })
					for j := 0; j < points; j++ {
						p.learn(s, int64(1.7e18)+int64(j)*int64(10*time.Second), 0.5)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/series")
			}
		})
	}
}
