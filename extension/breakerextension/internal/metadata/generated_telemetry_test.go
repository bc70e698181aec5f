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
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTypeAndStability(t *testing.T) {
	assert.Equal(t, "breaker", Type.String())
	assert.Equal(t, "Development", ExtensionStability.String())
}

func TestTelemetryBuilder(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	tb, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	require.NoError(t, tb.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(tb.Targets, 7)
		o.ObserveInt64(tb.Transitions, 2, metric.WithAttributes(attribute.String("to", "open"), attribute.String("reason", "failure_rate")))
		return nil
	}))
	m, err := tel.GetMetric("otelcol_breaker_targets")
	require.NoError(t, err)
	assert.Equal(t, "{target}", m.Unit)
	assert.Equal(t, int64(7), m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value)
	m, err = tel.GetMetric("otelcol_breaker_transitions")
	require.NoError(t, err)
	assert.Equal(t, int64(2), m.Data.(metricdata.Sum[int64]).DataPoints[0].Value)

	require.NoError(t, tb.Shutdown())
	_, err = tel.GetMetric("otelcol_breaker_targets")
	assert.Error(t, err, "the callback is unregistered at shutdown")
	require.NoError(t, tb.Shutdown(), "a second shutdown is a no-op")
}
