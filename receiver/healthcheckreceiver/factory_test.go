package healthcheckreceiver

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/internal/componenttest"
	"github.com/vigil-collector/vigil/internal/ownmetrics"
	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	cfg := componenttest.CheckFactory(t, f, "healthcheck")
	assert.Equal(t, component.StabilityLevelAlpha, f.MetricsStability())
	require.NoError(t, validate(cfg))
}

func TestLifecycleWithNoTargets(t *testing.T) {
	f := NewFactory()
	r, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	componenttest.StartAndShutdown(t, r, componenttest.NopHost())
}

func TestShutdownWithoutStart(t *testing.T) {
	f := NewFactory()
	componenttest.ShutdownWithoutStart(t, func() (receiver.Metrics, error) {
		return f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), consumertest.NewNop())
	})
}

// TestOwnTelemetry records on each of the receiver's own instruments and checks what the
// collector's telemetry then holds, and that documentation.md lists it.
func TestOwnTelemetry(t *testing.T) {
	tel, b := componenttest.TelemetryBuilder(t, metadata.NewTelemetryBuilder)
	b.Probes.Add(context.Background(), 2, metric.WithAttributes(attribute.String("outcome", "success")))
	b.ProbesMissed.Add(context.Background(), 1)
	b.ProbeScheduleDrift.Record(context.Background(), 0.003)

	assert.Equal(t, "{probe}", tel.Metric("otelcol_healthcheck_probes").Unit)
	assert.Equal(t, int64(2), tel.Sum("otelcol_healthcheck_probes").DataPoints[0].Value)
	assert.Equal(t, int64(1), tel.Sum("otelcol_healthcheck_probes_missed").DataPoints[0].Value)
	assert.Equal(t, "s", tel.Metric("otelcol_healthcheck_probe_schedule_drift").Unit)
	h := tel.Histogram("otelcol_healthcheck_probe_schedule_drift")[0]
	assert.Equal(t, uint64(1), h.Count)
	assert.InDelta(t, 0.003, h.Sum, 1e-12)
	componenttest.AssertDocumented(t, ownmetrics.Names(new(metadata.TelemetryBuilder))...)
}
