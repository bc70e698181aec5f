package guardprocessor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/vigil-collector/vigil/internal/componenttest"
	"github.com/vigil-collector/vigil/processor/guardprocessor/internal/metadata"
)

// gauges returns one resource per service, each with one gauge point.
func gauges(services ...string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for _, s := range services {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", s)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("app.requests")
		m.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(1)
	}
	return md
}

func serviceNames(md pmetric.Metrics) []string {
	var out []string
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		v, _ := md.ResourceMetrics().At(i).Resource().Attributes().Get("service.name")
		out = append(out, v.Str())
	}
	return out
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d", prefix, i)
	}
	return out
}

type fixture struct {
	tel  *componenttest.Telemetry
	sink *consumertest.MetricsSink
	proc processor.Metrics
	g    *guard
	now  time.Time
}

func newMetricsFixture(t *testing.T, cfg *Config) *fixture {
	t.Helper()
	f := &fixture{tel: componenttest.NewTelemetry(t), sink: new(consumertest.MetricsSink), now: time.Unix(1_700_000_000, 0)}
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = f.tel.Settings()
	g, err := newGuard(set, cfg, signalMetrics)
	require.NoError(t, err)
	g.now = func() time.Time { return f.now }
	f.g = g
	f.proc, err = createMetricsWith(t, set, cfg, f.sink, g)
	require.NoError(t, err)
	require.NoError(t, f.proc.Start(context.Background(), componenttest.NopHost()))
	t.Cleanup(func() { require.NoError(t, f.proc.Shutdown(context.Background())) })
	return f
}

func (f *fixture) send(t *testing.T, md pmetric.Metrics) pmetric.Metrics {
	t.Helper()
	f.sink.Reset()
	require.NoError(t, f.proc.ConsumeMetrics(context.Background(), md))
	all := f.sink.AllMetrics()
	if len(all) == 0 {
		return pmetric.NewMetrics()
	}
	require.Len(t, all, 1)
	return all[0]
}

func (f *fixture) counter(t *testing.T, name string) int64 {
	t.Helper()
	return f.tel.Total(name)
}

func smallSeries() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Series = SeriesConfig{MaxSeries: 50, MaxNewPerInterval: 20, Interval: time.Minute, Expiration: 2 * time.Minute}
	return cfg
}

func TestKnownSeriesPassWhileAFloodIsRefused(t *testing.T) {
	f := newMetricsFixture(t, smallSeries())
	legit := names("legit", 5)
	assert.Equal(t, legit, serviceNames(f.send(t, gauges(legit...))))

	flood := names("flood", 1000)
	out := f.send(t, gauges(append(flood, legit...)...))
	got := serviceNames(out)
	// A resource weighs 1 (its target_info line) and its gauge 1: the 5 legit took 10 of the
	// interval's 20, so 5 flood resources pass.
	assert.Len(t, got, 10, "5 legit + 5 new fill the 20 new lines of the interval")
	assert.Subset(t, got, legit, "series seen before always pass")
	assert.Equal(t, int64(995), f.counter(t, "otelcol_guard_items_dropped"))
	assert.Equal(t, int64(995), f.counter(t, "otelcol_guard_series_refused"))

	// Later intervals admit more until max_series; legit keeps passing.
	for i := 1; i <= 3; i++ {
		f.now = f.now.Add(time.Minute)
		got = serviceNames(f.send(t, gauges(append(names(fmt.Sprintf("wave%d", i), 100), legit...)...)))
		assert.Subset(t, got, legit)
	}
	assert.LessOrEqual(t, f.g.tracker.total(), int64(50), "never more than max_series")
	assert.GreaterOrEqual(t, f.g.tracker.total(), int64(49))

	// Series not seen for the expiration are forgotten and their budget is free again.
	f.now = f.now.Add(3 * time.Minute)
	got = serviceNames(f.send(t, gauges(names("after", 10)...)))
	assert.Len(t, got, 10)
	assert.Equal(t, int64(20), f.g.tracker.total())
	assert.Positive(t, f.counter(t, "otelcol_guard_series_expired"))
}

func TestHistogramWeighsItsPageLines(t *testing.T) {
	cfg := smallSeries()
	f := newMetricsFixture(t, cfg)
	md := pmetric.NewMetrics()
	for i := range 3 {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", fmt.Sprintf("h%d", i))
		h := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		h.SetName("duration")
		dp := h.SetEmptyHistogram().DataPoints().AppendEmpty()
		dp.ExplicitBounds().FromRaw([]float64{1, 2, 3, 4, 5}) // 6 buckets + sum + count = 8 lines
	}
	got := serviceNames(f.send(t, md))
	assert.Len(t, got, 2, "two resources with a histogram of weight 8 (9 lines each) fit in 20 new lines, the third does not")
	assert.Equal(t, int64(19), f.g.tracker.total(), "the third resource's own line was admitted before its histogram was refused")
}

func TestAttributeOrderDoesNotMakeANewSeries(t *testing.T) {
	f := newMetricsFixture(t, smallSeries())
	one := func(first, second string) pmetric.Metrics {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr(first, first+"-value")
		rm.Resource().Attributes().PutStr(second, second+"-value")
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("x")
		m.SetEmptyGauge().DataPoints().AppendEmpty()
		return md
	}
	f.send(t, one("k1", "k2"))
	f.send(t, one("k2", "k1"))
	assert.Equal(t, int64(2), f.g.tracker.total(), "one resource line and one series")
}

func TestLongAndControlValuesAreCutAndReplaced(t *testing.T) {
	f := newMetricsFixture(t, smallSeries())
	huge := strings.Repeat("é", 600_000) // 1.2 MB, two bytes a rune
	md := gauges(huge, "esc\x1b[31mred\x00nul", "rtl\u202Eevil", "bad\xffutf8")
	md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0).
		Attributes().PutStr("bell\x07key", "tab\tvalue")
	got := serviceNames(f.send(t, md))
	require.Len(t, got, 4)
	assert.Len(t, got[0], 256, "cut at max_value_length on a rune boundary")
	assert.Equal(t, strings.Repeat("é", 128), got[0])
	assert.Equal(t, "esc\uFFFD[31mred\uFFFDnul", got[1])
	assert.Equal(t, "rtl\uFFFDevil", got[2])
	assert.Equal(t, "bad\uFFFDutf8", got[3])
	attrs := f.sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0).Attributes()
	v, ok := attrs.Get("bell\uFFFDkey")
	require.True(t, ok, "keys are cleaned too: %v", attrs.AsRaw())
	assert.Equal(t, "tab\uFFFDvalue", v.Str())
	assert.Equal(t, int64(1), f.counter(t, "otelcol_guard_values_truncated"))
	assert.Equal(t, int64(5), f.counter(t, "otelcol_guard_values_sanitized"))
}

func TestHugeNamesCollapseOnceCut(t *testing.T) {
	f := newMetricsFixture(t, smallSeries())
	prefix := strings.Repeat("x", 1<<20)
	var flood []string
	for i := range 30 {
		flood = append(flood, prefix+fmt.Sprint(i)) // differ only past the cut
	}
	assert.Len(t, serviceNames(f.send(t, gauges(flood...))), 30, "all pass, cut")
	assert.Equal(t, int64(2), f.g.tracker.total(), "one resource and one series once cut to 256 bytes")
}

func TestSpansAreBoundedBySpanMetricsIdentity(t *testing.T) {
	tel := componenttest.NewTelemetry(t)
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.Settings()
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), set, smallSeries(), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NopHost()))
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	td := ptrace.NewTraces()
	for i := range 100 {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d\x1b", i))
		ss := rs.ScopeSpans().AppendEmpty()
		for range 3 { // same name and kind: one series
			s := ss.Spans().AppendEmpty()
			s.SetName("GET /\x00")
			s.SetKind(ptrace.SpanKindServer)
		}
	}
	require.NoError(t, p.ConsumeTraces(context.Background(), td))
	out := sink.AllTraces()[0]
	assert.Equal(t, 20, out.ResourceSpans().Len())
	assert.Equal(t, 60, out.SpanCount())
	assert.Equal(t, "GET /\uFFFD", out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name())
	v, _ := out.ResourceSpans().At(0).Resource().Attributes().Get("service.name")
	assert.Equal(t, "svc-0\uFFFD", v.Str())
}

func TestLogsAreCleanedNotBounded(t *testing.T) {
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), smallSeries(), sink)
	require.NoError(t, err)
	ld := plog.NewLogs()
	for i := range 100 {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("s%d\x00", i))
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("kept \x1b as is")
	}
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	out := sink.AllLogs()[0]
	assert.Equal(t, 100, out.LogRecordCount())
	v, _ := out.ResourceLogs().At(99).Resource().Attributes().Get("service.name")
	assert.Equal(t, "s99\uFFFD", v.Str())
	require.NoError(t, p.Shutdown(context.Background()))
}

func TestNestedValuesAreCleaned(t *testing.T) {
	cl := &cleaner{maxLen: 16}
	m := pcommon.NewMap()
	inner := m.PutEmptyMap("outer")
	inner.PutStr("k", "a\x00b")
	sl := m.PutEmptySlice("list")
	sl.AppendEmpty().SetStr(strings.Repeat("z", 40))
	cl.cleanMap(m)
	assert.Equal(t, map[string]any{"outer": map[string]any{"k": "a\uFFFDb"}, "list": []any{strings.Repeat("z", 16)}}, m.AsRaw())
}
