package metadata

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestTypeAndStability(t *testing.T) {
	assert.Equal(t, "guard", Type.String())
	assert.Equal(t, "Alpha", MetricsStability.String())
}

func TestTelemetryBuilder(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	b, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	require.NoError(t, b.RegisterGuardSeriesCallback(func() int64 { return 7 }))
	b.GuardSeriesRefused.Add(context.Background(), 3)

	m, err := tel.GetMetric("otelcol_guard_series_refused")
	require.NoError(t, err)
	assert.Equal(t, int64(3), m.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
	m, err = tel.GetMetric("otelcol_guard_series")
	require.NoError(t, err)
	assert.Equal(t, int64(7), m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)

	b.Shutdown()
	_, err = tel.GetMetric("otelcol_guard_series")
	assert.Error(t, err, "the callback is unregistered at shutdown")
}
