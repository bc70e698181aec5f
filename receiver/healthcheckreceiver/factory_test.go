package healthcheckreceiver

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, component.MustNewType("healthcheck"), f.Type())
	assert.Equal(t, component.StabilityLevelAlpha, f.MetricsStability())
	cfg := f.CreateDefaultConfig()
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	require.NoError(t, validate(cfg))
}

func TestLifecycleWithNoTargets(t *testing.T) {
	f := NewFactory()
	r, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestShutdownWithoutStart(t *testing.T) {
	f := NewFactory()
	r, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()))
}

// TestOwnTelemetry records on each of the receiver's own instruments and checks what the
// collector's telemetry then holds, and that documentation.md lists it.
func TestOwnTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	b, err := metadata.NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	b.Probes.Add(context.Background(), 2, metric.WithAttributes(attribute.String("outcome", "success")))
	b.ProbesMissed.Add(context.Background(), 1)
	b.ProbeScheduleDrift.Record(context.Background(), 0.003)
	doc, err := os.ReadFile("documentation.md")
	require.NoError(t, err)

	probes, err := tel.GetMetric("otelcol_healthcheck_probes")
	require.NoError(t, err)
	assert.Equal(t, "{probe}", probes.Unit)
	assert.Equal(t, int64(2), probes.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
	missed, err := tel.GetMetric("otelcol_healthcheck_probes_missed")
	require.NoError(t, err)
	assert.Equal(t, int64(1), missed.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
	drift, err := tel.GetMetric("otelcol_healthcheck_probe_schedule_drift")
	require.NoError(t, err)
	assert.Equal(t, "s", drift.Unit)
	h := drift.Data.(metricdata.Histogram[float64]).DataPoints[0]
	assert.Equal(t, uint64(1), h.Count)
	assert.InDelta(t, 0.003, h.Sum, 1e-12)
	for _, m := range []metricdata.Metrics{probes, missed, drift} {
		assert.Contains(t, string(doc), "| `"+m.Name+"` |", "documentation.md lists %s", m.Name)
	}
}
