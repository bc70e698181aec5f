package componenttest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Telemetry is the collector's test telemetry for one test, shut down when the test ends. Its
// readers fail the test when the metric is not there or not of the kind asked for.
type Telemetry struct {
	t   testing.TB
	tel *componenttest.Telemetry
}

// NewTelemetry returns the collector's test telemetry, shut down at the end of t.
func NewTelemetry(t testing.TB) *Telemetry {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	return &Telemetry{t: t, tel: tel}
}

// Settings are the telemetry settings a component records its own telemetry with.
func (tel *Telemetry) Settings() component.TelemetrySettings { return tel.tel.NewTelemetrySettings() }

// Metric returns the metric name as the collector's telemetry holds it now.
func (tel *Telemetry) Metric(name string) metricdata.Metrics {
	tel.t.Helper()
	m, err := tel.tel.GetMetric(name)
	require.NoError(tel.t, err, name)
	return m
}

// Gauge returns the data points of the int64 gauge name.
func (tel *Telemetry) Gauge(name string) []metricdata.DataPoint[int64] {
	tel.t.Helper()
	g, ok := tel.Metric(name).Data.(metricdata.Gauge[int64])
	require.True(tel.t, ok, "%s is an int64 gauge", name)
	return g.DataPoints
}

// Sum returns the int64 sum name; its data points are in DataPoints.
func (tel *Telemetry) Sum(name string) metricdata.Sum[int64] {
	tel.t.Helper()
	s, ok := tel.Metric(name).Data.(metricdata.Sum[int64])
	require.True(tel.t, ok, "%s is an int64 sum", name)
	return s
}

// Int64 returns the value of the first data point of name, an int64 gauge or sum.
func (tel *Telemetry) Int64(name string) int64 {
	tel.t.Helper()
	var dps []metricdata.DataPoint[int64]
	switch d := tel.Metric(name).Data.(type) {
	case metricdata.Gauge[int64]:
		dps = d.DataPoints
	case metricdata.Sum[int64]:
		dps = d.DataPoints
	default:
		require.Failf(tel.t, "not an int64 gauge or sum", "%s is %T", name, d)
	}
	require.NotEmpty(tel.t, dps, name)
	return dps[0].Value
}

// AssertInt64 asserts each metric's first data point holds the value want names it with.
func (tel *Telemetry) AssertInt64(want map[string]int64) {
	tel.t.Helper()
	for name, v := range want {
		assert.Equal(tel.t, v, tel.Int64(name), name)
	}
}

// Histogram returns the data points of the float64 histogram name.
func (tel *Telemetry) Histogram(name string) []metricdata.HistogramDataPoint[float64] {
	tel.t.Helper()
	h, ok := tel.Metric(name).Data.(metricdata.Histogram[float64])
	require.True(tel.t, ok, "%s is a float64 histogram", name)
	return h.DataPoints
}

// AssertGone asserts the collector's telemetry holds no data for name (its callback is
// unregistered).
func (tel *Telemetry) AssertGone(name string, msgAndArgs ...any) {
	tel.t.Helper()
	_, err := tel.tel.GetMetric(name)
	assert.Error(tel.t, err, msgAndArgs...)
}

// Total returns the sum of the data points of the int64 sum name whose attributes hold every key
// and value of attrs (pairs); 0 when the metric has no data yet.
func (tel *Telemetry) Total(name string, attrs ...string) int64 {
	tel.t.Helper()
	m, err := tel.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	s, ok := m.Data.(metricdata.Sum[int64])
	require.True(tel.t, ok, "%s is an int64 sum", name)
	var total int64
	for _, dp := range s.DataPoints {
		match := true
		for i := 0; i+1 < len(attrs); i += 2 {
			v, ok := dp.Attributes.Value(attribute.Key(attrs[i]))
			match = match && ok && v.AsString() == attrs[i+1]
		}
		if match {
			total += dp.Value
		}
	}
	return total
}
