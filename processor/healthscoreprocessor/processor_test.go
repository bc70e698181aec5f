package healthscoreprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/vigil-collector/vigil/extension/breakerextension"
	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/metadata"
)

// testHost offers extensions to the processor's Start.
type testHost map[component.ID]component.Component

func (h testHost) GetExtensions() map[component.ID]component.Component { return h }

var breakerID = component.MustNewID("breaker")

// notABreaker is an extension of another kind.
type notABreaker struct {
	component.StartFunc
	component.ShutdownFunc
}

// startBreaker creates and starts the real breaker extension (without an HTTP API: no status
// extension named).
func startBreaker(t *testing.T) component.Component {
	t.Helper()
	f := breakerextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*breakerextension.Config)
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext
}

// pair is one healthscore component placed in a traces and a metrics pipeline.
type pair struct {
	factory *factory
	traces  processor.Traces
	metrics processor.Metrics
	tsink   *consumertest.TracesSink
	msink   *consumertest.MetricsSink
	hs      *healthScore
}

func newPair(t *testing.T, cfg *Config, set processor.Settings) *pair {
	t.Helper()
	fi := newFactory()
	f := fi.processorFactory()
	p := &pair{factory: fi, tsink: new(consumertest.TracesSink), msink: new(consumertest.MetricsSink)}
	var err error
	p.traces, err = f.CreateTraces(context.Background(), set, cfg, p.tsink)
	require.NoError(t, err)
	p.metrics, err = f.CreateMetrics(context.Background(), set, cfg, p.msink)
	require.NoError(t, err)
	p.hs = fi.instances[set.ID]
	require.NotNil(t, p.hs)
	return p
}

func (p *pair) start(t *testing.T, host component.Host) {
	t.Helper()
	require.NoError(t, p.traces.Start(context.Background(), host))
	require.NoError(t, p.metrics.Start(context.Background(), host))
	t.Cleanup(func() { p.shutdown(t) })
}

func (p *pair) shutdown(t *testing.T) {
	require.NoError(t, p.traces.Shutdown(context.Background()))
	require.NoError(t, p.metrics.Shutdown(context.Background()))
}

func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Interval = 100 * time.Millisecond
	cfg.StaleAfter = time.Minute
	cfg.Metrics = allMetrics() // the tests look at every metric, the opt-in ones included
	return cfg
}

func spans(svc string, n, errs int, kind ptrace.SpanKind, attrs map[string]any) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", svc)
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := range n {
		s := ss.AppendEmpty()
		s.SetKind(kind)
		s.SetName("op")
		s.SetStartTimestamp(now - pcommon.Timestamp(20*time.Millisecond))
		s.SetEndTimestamp(now)
		if i < errs {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
		_ = s.Attributes().FromRaw(attrs)
	}
	return td
}

// gauge finds a gauge point of the named metric whose resource service.name is svc.
func gauge(batches []pmetric.Metrics, name, svc string, attr ...string) (pmetric.NumberDataPoint, bool) {
	var out pmetric.NumberDataPoint
	found := false
	for _, md := range batches {
		for i := 0; i < md.ResourceMetrics().Len(); i++ {
			rm := md.ResourceMetrics().At(i)
			if v, ok := rm.Resource().Attributes().Get("service.name"); !ok || v.Str() != svc {
				continue
			}
			for j := 0; j < rm.ScopeMetrics().Len(); j++ {
				ms := rm.ScopeMetrics().At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					m := ms.At(k)
					if m.Name() != name || m.Type() != pmetric.MetricTypeGauge {
						continue
					}
				points:
					for l := 0; l < m.Gauge().DataPoints().Len(); l++ {
						dp := m.Gauge().DataPoints().At(l)
						for a := 0; a+1 < len(attr); a += 2 {
							if v, ok := dp.Attributes().Get(attr[a]); !ok || v.Str() != attr[a+1] {
								continue points
							}
						}
						out, found = dp, true // the latest wins
					}
				}
			}
		}
	}
	return out, found
}

// startPairWithBreaker starts both halves on the test config, feeding a real breaker extension.
func startPairWithBreaker(t *testing.T) (*pair, component.Component) {
	cfg := testConfig()
	cfg.Breaker = breakerID
	ext := startBreaker(t)
	p := newPair(t, cfg, processortest.NewNopSettings(metadata.Type))
	p.start(t, testHost{breakerID: ext})
	return p, ext
}

func TestBothHalvesShareOneStateAndFeedTheBreaker(t *testing.T) {
	p, ext := startPairWithBreaker(t)

	ctx := context.Background()
	// Successes after the failures would be the service answering again (and move an open
	// breaker toward half-open): they come first.
	require.NoError(t, p.traces.ConsumeTraces(ctx, spans("payments", 100, 0, ptrace.SpanKindServer, nil)))
	require.NoError(t, p.traces.ConsumeTraces(ctx, spans("payments", 100, 100, ptrace.SpanKindServer, nil)))
	require.NoError(t, p.traces.ConsumeTraces(ctx, spans("frontend", 50, 0, ptrace.SpanKindClient, map[string]any{"peer.service": "catalog"})))
	assert.Equal(t, 250, p.tsink.SpanCount(), "spans pass through")

	// The breaker reacts within the spans, not an interval: payments failed half its calls.
	feeder := ext.(breakerfeed.Feeder)
	st, known := feeder.State("payments")
	assert.True(t, known)
	assert.Equal(t, breakerfeed.Open, st)

	// The metrics half emits what the traces half observed, on its own timer (no metrics pass).
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		batches := p.msink.AllMetrics()
		dp, ok := gauge(batches, "health.score", "payments")
		if assert.True(c, ok) {
			assert.Less(c, dp.DoubleValue(), 0.5)
			assert.Zero(c, dp.Attributes().Len(), "health.score carries no status: one series per component")
		}
		// health.status is a state set: one point per status, 1 for the current one.
		for _, st := range []string{"healthy", "degraded", "unhealthy", "unknown"} {
			dp, ok := gauge(batches, "health.status", "payments", "health.status", st)
			if assert.True(c, ok, st) {
				want := 0.0
				if st == "unhealthy" {
					want = 1
				}
				assert.Equal(c, want, dp.DoubleValue(), st)
			}
		}
		dp, ok = gauge(batches, "health.score", "catalog")
		if assert.True(c, ok) {
			assert.GreaterOrEqual(c, dp.DoubleValue(), 0.9)
		}
		dp, ok = gauge(batches, "breaker.state", "payments", "breaker.target", "payments", "breaker.mode", "auto")
		if assert.True(c, ok) {
			assert.Equal(c, 2.0, dp.DoubleValue(), "open")
		}
		_, ok = gauge(batches, "health.dependency.call.rate", "frontend", "peer.service", "catalog")
		assert.True(c, ok)
	}, 5*time.Second, 20*time.Millisecond)
}

func TestProbesReachTheBreaker(t *testing.T) {
	p, ext := startPairWithBreaker(t)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "legacy")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("healthcheck.status")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetIntValue(0)
	dp.Attributes().PutStr("healthcheck.target", "legacy-tcp")
	require.NoError(t, p.metrics.ConsumeMetrics(context.Background(), md))
	_, known := ext.(breakerfeed.Feeder).State("legacy")
	assert.True(t, known, "a probe result makes the target known to the breaker")
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name string
		host component.Host
		want string
	}{
		{"the named breaker is not configured", testHost{}, `breaker extension "breaker" not found`},
		{"the named extension is not a breaker", testHost{breakerID: notABreaker{}}, `extension "breaker" is not a breaker extension`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Breaker = breakerID
			p := newPair(t, cfg, processortest.NewNopSettings(metadata.Type))
			err := p.traces.Start(context.Background(), tt.host)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			err = p.metrics.Start(context.Background(), tt.host)
			require.Error(t, err)
			// The collector shuts everything down after a failed start: nothing to stop, no error.
			p.shutdown(t)
		})
	}
}

func TestNoBreakerNoFeeding(t *testing.T) {
	p := newPair(t, testConfig(), processortest.NewNopSettings(metadata.Type))
	p.start(t, testHost{})
	require.NoError(t, p.traces.ConsumeTraces(context.Background(), spans("payments", 10, 10, ptrace.SpanKindServer, nil)))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, ok := gauge(p.msink.AllMetrics(), "health.score", "payments")
		assert.True(c, ok)
	}, 5*time.Second, 20*time.Millisecond)
	_, ok := gauge(p.msink.AllMetrics(), "breaker.state", "payments", "breaker.target", "payments")
	assert.False(t, ok, "no breaker, no breaker.state")
}

func TestAppendsToMetricsPassingThrough(t *testing.T) {
	cfg := testConfig()
	cfg.Interval = time.Hour // the test scores by hand
	p := newPair(t, cfg, processortest.NewNopSettings(metadata.Type))
	p.start(t, testHost{})
	hs := p.hs
	ctx := context.Background()
	require.NoError(t, p.traces.ConsumeTraces(ctx, spans("payments", 10, 0, ptrace.SpanKindServer, nil)))
	require.True(t, hs.scoreOnce(time.Now()))

	passing := pmetric.NewMetrics()
	rm := passing.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "app")
	g := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("queue.depth")
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(3)
	require.NoError(t, p.metrics.ConsumeMetrics(ctx, passing))

	require.Len(t, p.msink.AllMetrics(), 1, "one batch: the passing one, with health.* appended")
	got := p.msink.AllMetrics()[0]
	_, ok := gauge([]pmetric.Metrics{got}, "queue.depth", "app")
	assert.True(t, ok)
	dp, ok := gauge([]pmetric.Metrics{got}, "health.score", "payments")
	require.True(t, ok)
	assert.Equal(t, 1.0, dp.DoubleValue())

	// The next batch carries nothing more: a pass's metrics ride once.
	require.NoError(t, p.metrics.ConsumeMetrics(ctx, pmetric.NewMetrics()))
	assert.Equal(t, 0, p.msink.AllMetrics()[1].DataPointCount())
}

func TestTracesOnlyStillScores(t *testing.T) {
	f := NewFactory()
	cfg := testConfig()
	sink := new(consumertest.TracesSink)
	tp, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, tp.Start(context.Background(), testHost{}))
	require.NoError(t, tp.ConsumeTraces(context.Background(), spans("a", 3, 0, ptrace.SpanKindServer, nil)))
	time.Sleep(3 * cfg.Interval) // the timer runs (and scores) with nowhere to emit
	require.NoError(t, tp.Shutdown(context.Background()))
	assert.Equal(t, 3, sink.SpanCount())
}

func TestInstancesAreForgottenAfterShutdown(t *testing.T) {
	fi := newFactory()
	f := fi.processorFactory()
	cfg := testConfig()
	set := processortest.NewNopSettings(metadata.Type)
	tp, err := f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	mp, err := f.CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.Len(t, fi.instances, 1, "one state for both halves")

	// Another ID gets its own.
	other := processortest.NewNopSettings(metadata.Type)
	other.ID = component.MustNewIDWithName("healthscore", "other")
	_, err = f.CreateTraces(context.Background(), other, testConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.Len(t, fi.instances, 2)
	delete(fi.instances, other.ID)

	require.NoError(t, tp.Start(context.Background(), testHost{}))
	require.NoError(t, mp.Start(context.Background(), testHost{}))
	require.NoError(t, tp.Shutdown(context.Background()))
	assert.Len(t, fi.instances, 1, "still in use by the metrics half")
	require.NoError(t, mp.Shutdown(context.Background()))
	assert.Empty(t, fi.instances)
}

func TestOwnTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	cfg := testConfig()
	cfg.MaxComponents = 2
	p := newPair(t, cfg, set)
	p.start(t, testHost{})
	ctx := context.Background()
	require.NoError(t, p.traces.ConsumeTraces(ctx, spans("a", 3, 1, ptrace.SpanKindServer, nil)))
	require.NoError(t, p.traces.ConsumeTraces(ctx, spans("caf\xe9", 2, 0, ptrace.SpanKindServer, nil)))
	require.NoError(t, p.traces.ConsumeTraces(ctx, spans("b", 4, 0, ptrace.SpanKindClient, nil)))
	for _, svc := range []string{"c", "d", "e"} {
		require.NoError(t, p.traces.ConsumeTraces(ctx, spans(svc, 1, 0, ptrace.SpanKindServer, nil)))
	}

	points := func(name string) map[string]int64 {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		out := map[string]int64{}
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range d.DataPoints {
				key := ""
				for _, kv := range dp.Attributes.ToSlice() {
					key += kv.Value.AsString() + "/"
				}
				out[key] = dp.Value
			}
		case metricdata.Gauge[int64]:
			out[""] = d.DataPoints[0].Value
		}
		return out
	}
	outcomes := points("otelcol_healthscore_outcomes")
	assert.Equal(t, int64(5), outcomes["success/"])
	assert.Equal(t, int64(1), outcomes["error/"])
	skipped := points("otelcol_healthscore_skipped")
	assert.Equal(t, int64(2), skipped["invalid_name/"])
	assert.Equal(t, int64(4), skipped["no_peer/"])
	evictions := points("otelcol_healthscore_evictions")
	assert.Positive(t, evictions["component/cap/"])
	assert.LessOrEqual(t, points("otelcol_healthscore_components")[""], int64(2))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, err := tel.GetMetric("otelcol_healthscore_scoring_duration")
		assert.NoError(c, err)
	}, 5*time.Second, 20*time.Millisecond)
}
