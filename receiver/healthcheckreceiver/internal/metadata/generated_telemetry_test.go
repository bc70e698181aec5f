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

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestTypeAndStability(t *testing.T) {
	assert.Equal(t, "healthcheck", Type.String())
	assert.Equal(t, "Alpha", MetricsStability.String())
}

func TestTelemetryBuilder(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	b, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	ctx := context.Background()
	b.Probes.Add(ctx, 2, metric.WithAttributes(attribute.String("outcome", "success")))
	b.ProbesMissed.Add(ctx, 1)
	b.ProbeScheduleDrift.Record(ctx, 0.003)

	m, err := tel.GetMetric("otelcol_healthcheck_probes")
	require.NoError(t, err)
	assert.Equal(t, "{probe}", m.Unit)
	assert.Equal(t, int64(2), m.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
	m, err = tel.GetMetric("otelcol_healthcheck_probes_missed")
	require.NoError(t, err)
	assert.Equal(t, int64(1), m.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
	m, err = tel.GetMetric("otelcol_healthcheck_probe_schedule_drift")
	require.NoError(t, err)
	assert.Equal(t, "s", m.Unit)
	h := m.Data.(metricdata.Histogram[float64]).DataPoints[0]
	assert.Equal(t, uint64(1), h.Count)
	assert.InDelta(t, 0.003, h.Sum, 1e-12)
}
