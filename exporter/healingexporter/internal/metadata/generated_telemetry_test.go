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
	assert.Equal(t, "healing", Type.String())
	assert.Equal(t, "Alpha", MetricsStability.String())
}

func TestTelemetryBuilder(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	b, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	ctx := context.Background()
	b.HealingDecisions.Add(ctx, 2, metric.WithAttributes(attribute.String("decision", "fired"), attribute.String("reason", "")))
	b.HealingActions.Add(ctx, 1, metric.WithAttributes(attribute.String("action", "restart"), attribute.String("outcome", "success")))
	b.HealingPending.Add(ctx, 3)
	b.HealingPending.Add(ctx, -1)
	b.HealingSkipped.Add(ctx, 4, metric.WithAttributes(attribute.String("reason", "no_target")))

	for name, want := range map[string]struct {
		unit  string
		value int64
	}{
		"otelcol_healing_decisions": {"{decision}", 2},
		"otelcol_healing_actions":   {"{action}", 1},
		"otelcol_healing_pending":   {"{action}", 2},
		"otelcol_healing_skipped":   {"{point}", 4},
	} {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		assert.Equal(t, want.unit, m.Unit, name)
		assert.Equal(t, want.value, m.Data.(metricdata.Sum[int64]).DataPoints[0].Value, name)
	}
}
