package healthscoreprocessor

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed/breakerfeedtest"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/metadata"
)

// fixedBreaker is a breaker extension with fixed states, so the golden output is exact.
type fixedBreaker struct {
	component.StartFunc
	component.ShutdownFunc
	mu     sync.Mutex
	fed    map[string]int
	states map[string]breakerfeed.State
	modes  map[string]string
}

func (b *fixedBreaker) RecordOutcome(target string, _ breakerfeed.Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fed[target]++
}
func (b *fixedBreaker) RecordProbe(string, bool) {}
func (b *fixedBreaker) Allow(string) bool        { return true }
func (b *fixedBreaker) State(t string) (breakerfeed.State, bool) {
	s, ok := b.states[t]
	return s, ok
}

func (b *fixedBreaker) States(fn func(string, breakerfeed.State) bool) {
	for t, s := range b.states {
		if !fn(t, s) {
			return
		}
	}
}

func (b *fixedBreaker) StatesWithMode(fn func(string, breakerfeed.State, string) bool) {
	breakerfeedtest.StatesWithMode(b.states, b.modes, fn)
}

// goldenNow is the fixed clock of the golden test.
var goldenNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// goldenSpans: checkout serves 400 calls (2 failing) at 40 ms and calls payments 200 times
// (half failing, through peer.service) and catalog 200 times (server.address, learned from
// catalog's own SERVER spans); checkout runs on app-1.
func goldenSpans(at time.Time, checkoutLatency time.Duration) ptrace.Traces {
	td := ptrace.NewTraces()
	add := func(svc, host string, kind ptrace.SpanKind, n, errs int, lat time.Duration, attrs map[string]any) {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", svc)
		if host != "" {
			rs.Resource().Attributes().PutStr("host.name", host)
		}
		ss := rs.ScopeSpans().AppendEmpty().Spans()
		start := pcommon.NewTimestampFromTime(at.Add(-time.Second))
		for i := range n {
			s := ss.AppendEmpty()
			s.SetKind(kind)
			s.SetStartTimestamp(start)
			s.SetEndTimestamp(start + pcommon.Timestamp(lat))
			if i < errs {
				s.Status().SetCode(ptrace.StatusCodeError)
			}
			_ = s.Attributes().FromRaw(attrs)
		}
	}
	add("catalog", "app-2", ptrace.SpanKindServer, 200, 0, 4*time.Millisecond, map[string]any{"server.address": "catalog.internal"})
	add("checkout", "app-1", ptrace.SpanKindServer, 400, 2, checkoutLatency, map[string]any{"http.response.status_code": 200})
	add("checkout", "app-1", ptrace.SpanKindClient, 200, 100, 10*time.Millisecond, map[string]any{"peer.service": "payments"})
	add("checkout", "app-1", ptrace.SpanKindClient, 200, 0, 5*time.Millisecond, map[string]any{"server.address": "catalog.internal"})
	return td
}

// goldenMetrics: app-1's CPU at 90% (from per-CPU idle), app-2 idle; a probe of checkout up;
// a legacy service known only by its delta RED histogram.
func goldenMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	host := func(name string, idle float64) {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("host.name", name)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("system.cpu.utilization")
		dps := m.SetEmptyGauge().DataPoints()
		for _, cpu := range []string{"cpu0", "cpu1"} {
			for state, v := range map[string]float64{"idle": idle, "user": 1 - idle} {
				dp := dps.AppendEmpty()
				dp.SetDoubleValue(v)
				dp.Attributes().PutStr("cpu", cpu)
				dp.Attributes().PutStr("state", state)
			}
		}
	}
	host("app-1", 0.1)
	host("app-2", 0.95)

	appendProbe(md, "checkout", "checkout-http", 1).PutStr("healthcheck.type", "http")

	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "legacy-billing")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("http.server.request.duration")
	m.SetUnit("s")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	for _, code := range []int64{200, 503} {
		hp := h.DataPoints().AppendEmpty()
		hp.Attributes().PutInt("http.response.status_code", code)
		hp.ExplicitBounds().FromRaw([]float64{0.01, 0.05, 0.1, 0.5})
		counts := []uint64{10, 80, 5, 4, 1}
		if code == 503 {
			counts = []uint64{0, 2, 0, 0, 0}
		}
		hp.BucketCounts().FromRaw(counts)
		hp.SetCount(counts[0] + counts[1] + counts[2] + counts[3] + counts[4])
	}
	return md
}

// TestGoldenOutput runs the whole processor (both halves, a breaker, a fixed clock) through two
// intervals, a warm-up and a slower second interval, and compares the metrics batch that leaves
// the metrics pipeline, health.* appended, with testdata/golden/expected.yaml.
// UPDATE_GOLDEN=1 rewrites the file.
func TestGoldenOutput(t *testing.T) {
	cfg := testConfig()
	cfg.Interval = time.Hour // scored by hand
	cfg.Breaker = breakerID
	cfg.Latency.BaselineMinCalls = 100
	brk := &fixedBreaker{fed: map[string]int{}, states: map[string]breakerfeed.State{
		"payments": breakerfeed.Open, "checkout": breakerfeed.Closed, "catalog": breakerfeed.HalfOpen,
	}, modes: map[string]string{"checkout": breakerfeed.ModeForcedClosed}}
	p := newPair(t, cfg, processortest.NewNopSettings(metadata.Type))
	now := goldenNow
	p.hs.now = func() time.Time { return now }
	p.start(t, testHost{breakerID: brk})
	ctx := context.Background()

	// Interval 1: learns checkout's latency (40 ms).
	require.NoError(t, p.traces.ConsumeTraces(ctx, goldenSpans(now, 40*time.Millisecond)))
	p.hs.scoreOnce(now)
	p.hs.pending.Store(nil)

	// Interval 2: checkout 2.5x slower; the metrics batch carries the pass's output.
	now = now.Add(10 * time.Second)
	require.NoError(t, p.traces.ConsumeTraces(ctx, goldenSpans(now, 100*time.Millisecond)))
	require.NoError(t, p.metrics.ConsumeMetrics(ctx, goldenMetrics()))
	require.True(t, p.hs.scoreOnce(now))
	require.NoError(t, p.metrics.ConsumeMetrics(ctx, pmetric.NewMetrics()))

	batches := p.msink.AllMetrics()
	require.Len(t, batches, 2)
	actual := batches[1]
	path := filepath.Join("testdata", "golden", "expected.yaml")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		require.NoError(t, golden.WriteMetrics(t, path, actual, golden.SkipMetricTimestampNormalization()))
	}
	expected, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	// The golden writer sorts points and metrics; the processor's own order is checked by the
	// engine's determinism test.
	require.NoError(t, pmetrictest.CompareMetrics(expected, actual,
		pmetrictest.IgnoreResourceMetricsOrder(), pmetrictest.IgnoreMetricsOrder(), pmetrictest.IgnoreMetricDataPointsOrder()))
	// One outcome per call: catalog's calls are seen as its own SERVER spans and as checkout's
	// CLIENT spans, and count once, from its own; payments reports no SERVER spans, so its
	// callers' CLIENT spans count.
	require.Equal(t, map[string]int{"checkout": 800, "payments": 400, "catalog": 400}, brk.fed, "one outcome per call, for its service or its peer")
}
