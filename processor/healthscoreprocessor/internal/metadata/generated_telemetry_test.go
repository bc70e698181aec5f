package metadata

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestTelemetryBuilder(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	tb, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	require.NoError(t, tb.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(tb.Components, 7)
		o.ObserveInt64(tb.Skipped, 3, metric.WithAttributes(attribute.String("reason", "no_peer")))
		return nil
	}))
	tb.ScoringDuration.Record(context.Background(), 0.002)

	m, err := tel.GetMetric("otelcol_healthscore_components")
	require.NoError(t, err)
	assert.Equal(t, int64(7), m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
	m, err = tel.GetMetric("otelcol_healthscore_skipped")
	require.NoError(t, err)
	sum := m.Data.(metricdata.Sum[int64])
	assert.True(t, sum.IsMonotonic)
	assert.Equal(t, int64(3), sum.DataPoints[0].Value)
	m, err = tel.GetMetric("otelcol_healthscore_scoring_duration")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), m.Data.(metricdata.Histogram[float64]).DataPoints[0].Count)

	require.NoError(t, tb.Shutdown())
	_, err = tel.GetMetric("otelcol_healthscore_components")
	assert.Error(t, err, "unregistered: nothing observed any more")
	require.NoError(t, tb.Shutdown(), "a second shutdown is harmless")
}
