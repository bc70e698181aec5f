package ownmetrics

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRegistration(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	meter := tel.NewTelemetrySettings().MeterProvider.Meter("test")
	g, err := meter.Int64ObservableGauge("g")
	require.NoError(t, err)

	var r Registration
	require.NoError(t, r.Unregister(), "unregistering before registering does nothing")
	require.NoError(t, r.Register(meter, func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(g, 3)
		return nil
	}, g))
	m, err := tel.GetMetric("g")
	require.NoError(t, err)
	assert.Equal(t, int64(3), m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
	require.NoError(t, r.Unregister())
	_, err = tel.GetMetric("g")
	assert.Error(t, err, "no callback, no data")
	require.NoError(t, r.Unregister(), "a second unregister does nothing")
}

func TestInstruments(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	in := Instruments{Meter: tel.NewTelemetrySettings().MeterProvider.Meter("test")}
	c := in.Int64Counter("c", "a counter", "{item}")
	h := in.Float64Histogram("h", "a histogram", "s", 0.1, 1)
	in.Int64ObservableCounter("oc", "", "1")
	in.Int64ObservableGauge("og", "", "1")
	in.Int64UpDownCounter("ud", "", "1")
	require.NoError(t, in.Err)
	c.Add(context.Background(), 2)
	h.Record(context.Background(), 0.5)
	m, err := tel.GetMetric("c")
	require.NoError(t, err)
	assert.Equal(t, "a counter", m.Description)
	assert.Equal(t, "{item}", m.Unit)
	m, err = tel.GetMetric("h")
	require.NoError(t, err)
	assert.Equal(t, []float64{0.1, 1}, m.Data.(metricdata.Histogram[float64]).DataPoints[0].Bounds)

	in.Int64Counter("", "an invalid name", "1")
	assert.Error(t, in.Err, "the error of an instrument is kept")
}
