package predictprocessor

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/vigil-collector/vigil/internal/componenttest"
	"github.com/vigil-collector/vigil/processor/predictprocessor/forecast"
	"github.com/vigil-collector/vigil/processor/predictprocessor/internal/metadata"
)

// harness is a started processor with a sink and its own telemetry.
type harness struct {
	p    processor.Metrics
	sink *consumertest.MetricsSink
	tel  *componenttest.Telemetry
}

func newHarness(t *testing.T, cfg *Config) *harness {
	t.Helper()
	require.NoError(t, validate(cfg))
	tel := componenttest.NewTelemetry(t)
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.Settings()
	sink := new(consumertest.MetricsSink)
	p, err := NewFactory().CreateMetrics(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NopHost()))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return &harness{p: p, sink: sink, tel: tel}
}

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// gaugeBatch is one batch holding a gauge point per attribute set, on a host resource.
func gaugeBatch(name string, ts time.Time, v float64, attrs map[string]any) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("host.name", "db-1")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	m.SetUnit("1")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetDoubleValue(v)
	_ = dp.Attributes().FromRaw(attrs)
	return md
}

func (h *harness) consume(t *testing.T, md pmetric.Metrics) {
	t.Helper()
	require.NoError(t, h.p.ConsumeMetrics(context.Background(), md))
}

// outputs returns the points named name in the latest batch the sink received, with the
// resource they were appended to.
func (h *harness) outputs(name string) []pmetric.NumberDataPoint {
	all := h.sink.AllMetrics()
	if len(all) == 0 {
		return nil
	}
	md := all[len(all)-1]
	var out []pmetric.NumberDataPoint
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		sms := md.ResourceMetrics().At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			if sms.At(j).Scope().Name() != metadata.ScopeName {
				continue
			}
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				if ms.At(k).Name() == name {
					dps := ms.At(k).Gauge().DataPoints()
					for l := 0; l < dps.Len(); l++ {
						out = append(out, dps.At(l))
					}
				}
			}
		}
	}
	return out
}

func (h *harness) counter(t *testing.T, name string, attrs ...string) int64 {
	t.Helper()
	return h.tel.Total(name, attrs...)
}

func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.WarmUp = 5 * time.Minute
	return cfg
}

func TestDiskFillPredictsTimeToThreshold(t *testing.T) {
	h := newHarness(t, testConfig())
	// used fraction rising from 0.5, reaching 0.9 at t0 + 10h; fed for 2h at 30 s.
	rate := 0.4 / (10 * 3600.0)
	attrs := map[string]any{"mountpoint": "/var", "state": "used"}
	var last time.Time
	for s := 0.0; s <= 2*3600; s += 30 {
		last = t0.Add(time.Duration(s) * time.Second)
		noise := 0.001 * math.Sin(s*7.3)
		h.consume(t, gaugeBatch("system.filesystem.utilization", last, 0.5+rate*s+noise, attrs))
	}
	ttt := h.outputs("predict.time_to_threshold")
	require.Len(t, ttt, 1)
	assert.InEpsilon(t, 8*3600, ttt[0].DoubleValue(), 0.2)
	src, _ := ttt[0].Attributes().Get("predict.source")
	assert.Equal(t, "system.filesystem.utilization", src.Str())
	thr, _ := ttt[0].Attributes().Get("predict.threshold")
	assert.Equal(t, 0.9, thr.Double())
	mp, _ := ttt[0].Attributes().Get("mountpoint")
	assert.Equal(t, "/var", mp.Str(), "the source point's attributes are kept")
	assert.Equal(t, pcommon.NewTimestampFromTime(last), ttt[0].Timestamp())

	values := h.outputs("predict.value")
	require.Len(t, values, 3)
	for _, v := range values {
		hz, _ := v.Attributes().Get("predict.horizon")
		want := math.Min(0.5+rate*(2*3600+float64(hz.Int())), 1) // utilisation is bounded to [0, 1]
		// The damped trend (7 d) gives up 4 % of the rise at 24 h.
		assert.InEpsilon(t, want, v.DoubleValue(), 0.05, "horizon %d", hz.Int())
	}
	risk := h.outputs("predict.risk")
	require.Len(t, risk, 1)
	assert.Greater(t, risk[0].DoubleValue(), 0.9, "crossing in 8 h is near certain within 24 h")
	require.Len(t, h.outputs("predict.anomaly.score"), 1)

	// The source metric passes through, on the same resource as the predictions.
	md := h.sink.AllMetrics()[len(h.sink.AllMetrics())-1]
	require.Equal(t, 1, md.ResourceMetrics().Len())
	host, _ := md.ResourceMetrics().At(0).Resource().Attributes().Get("host.name")
	assert.Equal(t, "db-1", host.Str())
	assert.Equal(t, "system.filesystem.utilization", md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Name())
	assert.Equal(t, int64(241), h.counter(t, "otelcol_predict_points"))
}

func TestNothingBeforeWarmUp(t *testing.T) {
	cfg := testConfig()
	cfg.WarmUp, cfg.WarmUpPoints = 10*time.Minute, 5
	h := newHarness(t, cfg)
	for i := 0; i < 20; i++ { // 20 points over 9.5 minutes
		h.consume(t, memBatch(t0.Add(time.Duration(i)*30*time.Second), 0.5, nil))
		assert.Empty(t, h.outputs("predict.risk"), "point %d", i)
	}
	h.consume(t, memBatch(t0.Add(10*time.Minute), 0.5, nil))
	assert.NotEmpty(t, h.outputs("predict.risk"))
	assert.Empty(t, h.outputs("predict.time_to_threshold"), "a flat series never crosses")
}

func TestNoAnomalyScoreBeforeTheDetectorIsWarm(t *testing.T) {
	// A clean linear ramp at 30 s: the forecasts start after warm_up, the anomaly score only once
	// the detector has learnt from DefaultDetectorConfig().WarmUp points, and then it is 0.
	cfg := testConfig()
	cfg.WarmUp, cfg.WarmUpPoints = time.Minute, 3
	h := newHarness(t, cfg)
	warm := forecast.DefaultDetectorConfig().WarmUp
	for i := 0; i < warm+50; i++ {
		h.consume(t, memBatch(t0.Add(time.Duration(i)*30*time.Second), 0.2+0.0005*float64(i), nil))
		scores := h.outputs("predict.anomaly.score")
		if i < warm {
			require.Empty(t, scores, "point %d: no anomaly score before the detector is warm", i)
			continue
		}
		require.Len(t, scores, 1, "point %d", i)
		require.Less(t, scores[0].DoubleValue(), 1e-3, "point %d: a clean ramp is no anomaly", i)
		require.NotEmpty(t, h.outputs("predict.value"))
	}
}

func TestUnwatchedMetricsPassUntouched(t *testing.T) {
	h := newHarness(t, testConfig())
	md := gaugeBatch("some.other.metric", t0, 1, nil)
	want := pmetric.NewMetrics()
	md.CopyTo(want)
	h.consume(t, md)
	assert.Equal(t, want, h.sink.AllMetrics()[0])
	assert.Zero(t, h.counter(t, "otelcol_predict_points"))
}

func TestAttributeMatchers(t *testing.T) {
	cfg := testConfig()
	cfg.WarmUpPoints, cfg.WarmUp = 3, 0
	cfg.Watch = []WatchRule{{Metric: "system.filesystem.utilization", Attributes: []AttributeMatcher{
		{Key: "state", Value: "used"}, {Key: "mountpoint", Regex: "/|/var.*"}, {Key: "host.name", Value: "db-1"},
	}}}
	h := newHarness(t, cfg)
	for i := 0; i < 5; i++ {
		ts := t0.Add(time.Duration(i) * time.Minute)
		h.consume(t, gaugeBatch("system.filesystem.utilization", ts, 0.5, map[string]any{"state": "used", "mountpoint": "/var/lib"}))
		h.consume(t, gaugeBatch("system.filesystem.utilization", ts, 0.5, map[string]any{"state": "free", "mountpoint": "/var/lib"}))
		h.consume(t, gaugeBatch("system.filesystem.utilization", ts, 0.5, map[string]any{"state": "used", "mountpoint": "/home"}))
	}
	assert.Equal(t, int64(5), h.counter(t, "otelcol_predict_points"), "only state=used on / or /var... matches (resource attribute host.name too)")
}

func TestSkipsNaNAndOutOfOrder(t *testing.T) {
	h := newHarness(t, testConfig())
	h.consume(t, memBatch(t0.Add(time.Minute), 0.5, nil))
	h.consume(t, memBatch(t0, 0.5, nil))                  // older
	h.consume(t, memBatch(t0.Add(time.Minute), 0.6, nil)) // repeated
	h.consume(t, memBatch(t0.Add(2*time.Minute), math.NaN(), nil))
	h.consume(t, memBatch(t0.Add(3*time.Minute), math.Inf(1), nil))
	h.consume(t, memBatch(t0.Add(4*time.Minute), 0.5, nil))
	assert.Equal(t, int64(2), h.counter(t, "otelcol_predict_points"))
	assert.Equal(t, int64(2), h.counter(t, "otelcol_predict_points_skipped", "reason", "out_of_order"))
	assert.Equal(t, int64(2), h.counter(t, "otelcol_predict_points_skipped", "reason", "nan"))
}

func TestMaxSeriesEvictsLeastRecentlySeen(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSeries = 2
	h := newHarness(t, cfg)
	send := func(dev string, i int) {
		h.consume(t, memBatch(t0.Add(time.Duration(i)*time.Minute), 0.5, map[string]any{"dev": dev}))
	}
	send("a", 0)
	send("b", 0)
	send("a", 1) // a is now the most recent
	send("c", 1) // evicts b
	assert.Equal(t, int64(1), h.counter(t, "otelcol_predict_series_evicted"))
	send("a", 2) // still held: no eviction
	assert.Equal(t, int64(1), h.counter(t, "otelcol_predict_series_evicted"))
	send("b", 2) // b starts again, evicting c
	assert.Equal(t, int64(2), h.counter(t, "otelcol_predict_series_evicted"))
	assert.Equal(t, int64(2), h.tel.Gauge("otelcol_predict_series")[0].Value)
}

// counterBatch is a cumulative monotonic counter point.
func counterBatch(name string, start, ts time.Time, v float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	m.SetUnit("By")
	s := m.SetEmptySum()
	s.SetIsMonotonic(true)
	s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := s.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetDoubleValue(v)
	return md
}

func TestCumulativeCounterBecomesRateAcrossResets(t *testing.T) {
	cfg := testConfig()
	cfg.WarmUp, cfg.WarmUpPoints = 0, 3
	cfg.Watch = []WatchRule{{Metric: "network.io", Horizons: []time.Duration{time.Minute}}}
	h := newHarness(t, cfg)
	start := t0
	v := 0.0
	for i := 1; i <= 40; i++ {
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		v += 1000    // 100 B/s
		if i == 20 { // the process restarts: new start time, counter from zero
			start, v = ts.Add(-time.Second), 100
		}
		h.consume(t, counterBatch("network.io", start, ts, v))
	}
	assert.Equal(t, int64(1), h.counter(t, "otelcol_predict_points_skipped", "reason", "counter_reset"))
	assert.Equal(t, int64(38), h.counter(t, "otelcol_predict_points"), "the first point is the base, the reset point starts a new base")
	values := h.outputs("predict.value")
	require.Len(t, values, 1)
	assert.InDelta(t, 100, values[0].DoubleValue(), 1e-6, "forecast of the rate")
	md := h.sink.AllMetrics()[len(h.sink.AllMetrics())-1]
	sms := md.ResourceMetrics().At(0).ScopeMetrics()
	assert.Equal(t, "By/s", sms.At(sms.Len()-1).Metrics().At(0).Unit())
}

func TestHistogramMeanAndQuantile(t *testing.T) {
	cfg := testConfig()
	cfg.WarmUp, cfg.WarmUpPoints = 0, 3
	cfg.Watch = []WatchRule{
		{Metric: "latency", Attributes: []AttributeMatcher{{Key: "stat", Value: "p90"}}, Horizons: []time.Duration{time.Second}, Histogram: HistogramConfig{Statistic: "quantile", Quantile: 0.9}},
		{Metric: "latency", Horizons: []time.Duration{time.Second}},
	}
	h := newHarness(t, cfg)
	for i := 1; i <= 10; i++ {
		md := pmetric.NewMetrics()
		m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("latency")
		hist := m.SetEmptyHistogram()
		hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		for _, stat := range []string{"p90", "mean"} {
			dp := hist.DataPoints().AppendEmpty()
			dp.Attributes().PutStr("stat", stat)
			dp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
			dp.SetTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(i) * time.Second)))
			// Every second: 10 observations of 0.05 s and 10 of 0.3 s (buckets 0.1, 0.5, 1).
			dp.ExplicitBounds().FromRaw([]float64{0.1, 0.5, 1})
			n := uint64(i)
			dp.BucketCounts().FromRaw([]uint64{10 * n, 10 * n, 0, 0})
			dp.SetCount(20 * n)
			dp.SetSum(float64(n) * (10*0.05 + 10*0.3))
		}
		h.consume(t, md)
	}
	values := h.outputs("predict.value")
	require.Len(t, values, 2)
	for _, v := range values {
		stat, _ := v.Attributes().Get("stat")
		if stat.Str() == "p90" {
			assert.InDelta(t, 0.1+0.4*0.8, v.DoubleValue(), 1e-6, "p90 interpolated in (0.1, 0.5]")
		} else {
			assert.InDelta(t, 0.175, v.DoubleValue(), 1e-6)
		}
	}
}

func TestErrorBudgetBurnFires(t *testing.T) {
	cfg := testConfig()
	cfg.WarmUp, cfg.WarmUpPoints = 0, 3
	cfg.Watch = []WatchRule{{Metric: "checkout.error_ratio", ErrorBudget: &ErrorBudgetConfig{Objective: 0.999}}}
	h := newHarness(t, cfg)
	firedAt := time.Duration(-1)
	for s := 0; s <= 600; s += 10 {
		h.consume(t, gaugeBatch("checkout.error_ratio", t0.Add(time.Duration(s)*time.Second), 0.0144, nil))
		for _, r := range h.outputs("predict.risk") {
			typ, _ := r.Attributes().Get("predict.risk.type")
			firing, _ := r.Attributes().Get("predict.firing")
			if typ.Str() == "error_budget" && firing.Bool() && firedAt < 0 {
				firedAt = time.Duration(s) * time.Second
				win, _ := r.Attributes().Get("predict.window")
				assert.Equal(t, "1h/5m", win.Str())
				assert.Equal(t, 1.0, r.DoubleValue())
			}
		}
	}
	require.GreaterOrEqual(t, firedAt, time.Duration(0), "a 14.4x burn must fire")
	assert.LessOrEqual(t, firedAt, 5*time.Minute+10*time.Second)
	rates := h.outputs("predict.error_budget.burn_rate")
	assert.Len(t, rates, 8, "long and short rate of each of the four window pairs")
}

func TestLinearModelMatchesLeastSquares(t *testing.T) {
	cfg := testConfig()
	cfg.WarmUp, cfg.WarmUpPoints = 0, 3
	cfg.Watch = []WatchRule{{Metric: "queue.depth", Model: "linear", Window: 10 * time.Minute, Threshold: ptr(1000), Horizons: []time.Duration{time.Minute}}}
	h := newHarness(t, cfg)
	for s := 0; s <= 1200; s += 15 { // exactly 2 per second
		h.consume(t, gaugeBatch("queue.depth", t0.Add(time.Duration(s)*time.Second), 2*float64(s), nil))
	}
	v := h.outputs("predict.value")
	require.Len(t, v, 1)
	assert.InDelta(t, 2*1260.0, v[0].DoubleValue(), 1e-6)
	ttt := h.outputs("predict.time_to_threshold")
	require.Len(t, ttt, 1)
	assert.Equal(t, 0.0, ttt[0].DoubleValue(), "already past 1000")
}

func TestForecastsStayWithinBounds(t *testing.T) {
	cfg := testConfig()
	cfg.WarmUp, cfg.WarmUpPoints = 0, 3
	h := newHarness(t, cfg) // the default rules bound utilisation to [0, 1]
	for s := 0; s <= 3600; s += 10 {
		h.consume(t, memBatch(t0.Add(time.Duration(s)*time.Second), 0.9-0.0002*float64(s), nil))
	}
	values := h.outputs("predict.value")
	require.Len(t, values, 2, "an hour of data reaches 12 h: the 1 h and 6 h forecasts")
	for _, v := range values {
		assert.GreaterOrEqual(t, v.DoubleValue(), 0.0)
	}
}

func TestConcurrentBatches(t *testing.T) {
	cfg := testConfig()
	cfg.WarmUp, cfg.WarmUpPoints = 0, 3
	cfg.MaxSeries = 2000 // sharded store
	h := newHarness(t, cfg)
	const workers, points = 4, 50
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < points; i++ {
				for s := 0; s < 10; s++ {
					md := memBatch(t0.Add(time.Duration(i)*time.Second), 0.5, map[string]any{"worker": int64(w), "s": int64(s)})
					if err := h.p.ConsumeMetrics(context.Background(), md); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	for w := 0; w < workers; w++ {
		<-done
	}
	assert.Equal(t, int64(workers*points*10), h.counter(t, "otelcol_predict_points"))
	assert.Equal(t, int64(workers*10), h.tel.Gauge("otelcol_predict_series")[0].Value)
}

func TestPointsWithoutTimestampAreTakenAsNow(t *testing.T) {
	cfg := testConfig()
	cfg.WarmUp, cfg.WarmUpPoints = 0, 3
	h := newHarness(t, cfg)
	for i := 0; i < 3; i++ {
		md := memBatch(t0, 0.5, nil)
		md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0).SetTimestamp(0)
		h.consume(t, md)
		time.Sleep(2 * time.Millisecond) // so "now" moves on between batches
	}
	assert.Equal(t, int64(3), h.counter(t, "otelcol_predict_points"))
	require.NotEmpty(t, h.outputs("predict.risk"))
	assert.NotZero(t, h.outputs("predict.risk")[0].Timestamp())
}

// memBatch is a system.memory.utilization point of state "used" (what the default rule watches).
func memBatch(ts time.Time, v float64, attrs map[string]any) pmetric.Metrics {
	all := map[string]any{"state": "used"}
	for k, a := range attrs {
		all[k] = a
	}
	return gaugeBatch("system.memory.utilization", ts, v, all)
}

func TestDefaultMemoryRuleWatchesUsedOnly(t *testing.T) {
	cfg := testConfig()
	cfg.WarmUp, cfg.WarmUpPoints = 0, 3
	h := newHarness(t, cfg)
	for i := 0; i < 5; i++ {
		ts := t0.Add(time.Duration(i) * time.Minute)
		for _, state := range []string{"used", "free", "cached"} {
			h.consume(t, gaugeBatch("system.memory.utilization", ts, 0.3, map[string]any{"state": state}))
		}
	}
	assert.Equal(t, int64(5), h.counter(t, "otelcol_predict_points"))
}

func TestNoValueBeyondTheModelsReach(t *testing.T) {
	cfg := testConfig()
	cfg.WarmUp, cfg.WarmUpPoints = 0, 3
	h := newHarness(t, cfg)           // horizons 1h, 6h, 24h
	for s := 0; s <= 20*60; s += 10 { // 20 minutes of data reach 4 h
		h.consume(t, memBatch(t0.Add(time.Duration(s)*time.Second), 0.5, nil))
	}
	values := h.outputs("predict.value")
	require.Len(t, values, 1)
	hz, _ := values[0].Attributes().Get("predict.horizon")
	assert.Equal(t, int64(3600), hz.Int())
}

func TestHistogramWithTooManyBucketsIsSkipped(t *testing.T) {
	cfg := testConfig()
	cfg.Watch = []WatchRule{{Metric: "latency", Histogram: HistogramConfig{Statistic: "quantile", Quantile: 0.5}}}
	h := newHarness(t, cfg)
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("latency")
	dp := m.SetEmptyHistogram().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(t0))
	bounds := make([]float64, maxQuantileBuckets+1)
	for i := range bounds {
		bounds[i] = float64(i + 1)
	}
	dp.ExplicitBounds().FromRaw(bounds)
	dp.BucketCounts().FromRaw(make([]uint64, len(bounds)+1))
	h.consume(t, md)
	assert.Equal(t, int64(1), h.counter(t, "otelcol_predict_points_skipped", "reason", "unsupported"))
}
