package health

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"
)

// redPoint is one point of a RED histogram.
type redPoint struct {
	start   pcommon.Timestamp
	attrs   map[string]any
	bounds  []float64
	buckets []uint64
}

func redMetrics(svc, name, unit string, temporality pmetric.AggregationTemporality, points ...redPoint) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", svc)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(temporality)
	for _, p := range points {
		dp := h.DataPoints().AppendEmpty()
		dp.SetStartTimestamp(p.start)
		if err := dp.Attributes().FromRaw(p.attrs); err != nil {
			panic(err)
		}
		dp.ExplicitBounds().FromRaw(p.bounds)
		dp.BucketCounts().FromRaw(p.buckets)
		var n uint64
		for _, b := range p.buckets {
			n += b
		}
		dp.SetCount(n)
	}
	return md
}

var secondsBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}

func TestREDMetrics(t *testing.T) {
	ok200 := map[string]any{"http.response.status_code": 200, "http.route": "/cart"}
	err500 := map[string]any{"http.response.status_code": 500, "http.route": "/cart", "error.type": "500"}
	delta := pmetric.AggregationTemporalityDelta
	cumulative := pmetric.AggregationTemporalityCumulative
	// cart is cart's http.server.request.duration: ok successes and failed 5xx calls, all in the
	// 10 ms bucket, of series started at start.
	cart := func(temporality pmetric.AggregationTemporality, start pcommon.Timestamp, ok, failed uint64) pmetric.Metrics {
		return redMetrics("cart", "http.server.request.duration", "s", temporality,
			redPoint{start, ok200, secondsBounds, []uint64{0, ok, 0, 0, 0, 0, 0, 0, 0}},
			redPoint{start, err500, secondsBounds, []uint64{0, failed, 0, 0, 0, 0, 0, 0, 0}})
	}

	t.Run("delta histograms: calls, 5xx errors and latencies", func(t *testing.T) {
		e := New(testSettings())
		e.ObserveMetrics(cart(delta, 1, 500, 500), t0)
		c := find(t, e.Score(t0), "cart")
		v, ok := signalOf(c, score.Errors)
		require.True(t, ok)
		assert.InDelta(t, score.ErrorSignal(score.ErrorRate(1000, 500, 0.999, 10), 0.999), v, 1e-9)
		assert.Equal(t, "unhealthy", c.Status)
	})
	t.Run("cumulative histograms count their increase; the first point only sets the start", func(t *testing.T) {
		e := New(testSettings())
		e.ObserveMetrics(cart(cumulative, 1, 1000, 1000), t0)
		c := find(t, e.Score(t0), "cart")
		_, ok := signalOf(c, score.Errors)
		assert.False(t, ok, "a first cumulative point says nothing about this interval")

		at := t0.Add(10 * time.Second)
		e.ObserveMetrics(cart(cumulative, 1, 2000, 1000), at)
		v, ok := signalOf(find(t, e.Score(at), "cart"), score.Errors)
		require.True(t, ok)
		assert.InDelta(t, 1, v, 1e-9, "1000 more successes and no new errors")

		// A restart (new start time) counts the new totals from zero.
		at = at.Add(10 * time.Second)
		e.ObserveMetrics(cart(cumulative, 2, 10, 990), at)
		v, _ = signalOf(find(t, e.Score(at), "cart"), score.Errors)
		assert.InDelta(t, score.ErrorSignal(score.ErrorRate(1000, 990, 0.999, 10), 0.999), v, 1e-9)
	})
	t.Run("latency from the buckets, rpc.server.duration in milliseconds", func(t *testing.T) {
		s := testSettings()
		s.LatencyThreshold = 20 * time.Millisecond
		s.PriorCalls = 0
		e := New(s)
		e.ObserveMetrics(redMetrics("grpc-svc", "rpc.server.duration", "ms", delta,
			redPoint{1, map[string]any{"rpc.grpc.status_code": 0}, []float64{5, 10, 50, 60, 500}, []uint64{0, 50, 0, 50, 0, 0}}), t0)
		v, ok := signalOf(find(t, e.Score(t0), "grpc-svc"), score.Latency)
		require.True(t, ok)
		// 50 calls at 7.5 ms (satisfied), 50 at 55 ms (tolerating: within 4 × 20 ms).
		assert.InDelta(t, 0.75, v, 1e-9)
	})
	t.Run("spans win over RED metrics of the same interval", func(t *testing.T) {
		e := New(testSettings())
		e.ObserveTraces(traces("cart", "", server(100, 0, time.Millisecond)), t0)
		e.ObserveMetrics(redMetrics("cart", "http.server.request.duration", "s", delta,
			redPoint{1, err500, secondsBounds, []uint64{0, 1000, 0, 0, 0, 0, 0, 0, 0}}), t0)
		v, _ := signalOf(find(t, e.Score(t0), "cart"), score.Errors)
		assert.InDelta(t, 1, v, 1e-9)
	})
	t.Run("inconsistent buckets are counted and skipped", func(t *testing.T) {
		e := New(testSettings())
		e.ObserveMetrics(redMetrics("cart", "http.server.request.duration", "s", delta,
			redPoint{1, ok200, secondsBounds, []uint64{1, 2}}), t0)
		assert.Equal(t, uint64(1), e.Stats().Skipped["bad_point"])
	})
	t.Run("series past the cap are counted", func(t *testing.T) {
		e := New(testSettings())
		var pts []redPoint
		for i := range maxREDSeries + 5 {
			pts = append(pts, redPoint{1, map[string]any{"http.route": i}, secondsBounds, make([]uint64, len(secondsBounds)+1)})
		}
		e.ObserveMetrics(redMetrics("cart", "http.server.request.duration", "s", cumulative, pts...), t0)
		assert.Equal(t, uint64(5), e.Stats().Skipped["series_limit"])
	})
	t.Run("a RED metric without service.name is counted", func(t *testing.T) {
		e := New(testSettings())
		md := redMetrics("cart", "http.server.request.duration", "s", delta, redPoint{1, ok200, secondsBounds, make([]uint64, 9)})
		md.ResourceMetrics().At(0).Resource().Attributes().Remove("service.name")
		e.ObserveMetrics(md, t0)
		assert.Equal(t, uint64(1), e.Stats().Skipped["no_service_name"])
		assert.Equal(t, int64(0), e.Stats().Components)
	})
}

func TestUnitNanos(t *testing.T) {
	assert.Equal(t, 1e9, unitNanos("s", metricHTTPServerDuration))
	assert.Equal(t, 1e6, unitNanos("ms", metricHTTPServerDuration))
	assert.Equal(t, 1e3, unitNanos("us", metricHTTPServerDuration))
	assert.Equal(t, 1.0, unitNanos("ns", metricHTTPServerDuration))
	assert.Equal(t, 1e6, unitNanos("", metricRPCServerDuration), "rpc.server.duration was specified in ms")
	assert.Equal(t, 1e9, unitNanos("", metricRPCServerCall))
}

func TestMetricsPassUnchanged(t *testing.T) {
	e := New(testSettings())
	md := gaugeMetrics(map[string]any{"service.name": "checkout", "host.name": "h"}, "healthcheck.status", point{1, map[string]any{"healthcheck.target": "x"}})
	addGauge(md, map[string]any{"host.name": "h"}, "system.cpu.utilization", point{0.5, map[string]any{"cpu": "cpu0", "state": "idle"}})
	before := pmetric.NewMetrics()
	md.CopyTo(before)
	e.ObserveMetrics(md, t0)
	assert.Equal(t, before, md)
}
