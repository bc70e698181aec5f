package metadata

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/goleak"

	"github.com/vigil-collector/vigil/internal/componenttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTypeAndStability(t *testing.T) {
	assert.Equal(t, "breaker", Type.String())
	assert.Equal(t, "Development", ExtensionStability.String())
}

func TestTelemetryBuilder(t *testing.T) {
	componenttest.CheckTelemetryBuilder(t, NewTelemetryBuilder, "otelcol_breaker_targets", func(tel *componenttest.Telemetry, tb *TelemetryBuilder) {
		require.NoError(t, tb.RegisterObservables(func(_ context.Context, o metric.Observer) error {
			o.ObserveInt64(tb.Targets, 7)
			o.ObserveInt64(tb.Transitions, 2, metric.WithAttributes(attribute.String("to", "open"), attribute.String("reason", "failure_rate")))
			return nil
		}))
		assert.Equal(t, "{target}", tel.Metric("otelcol_breaker_targets").Unit)
		assert.Equal(t, int64(7), tel.Gauge("otelcol_breaker_targets")[0].Value)
		assert.Equal(t, int64(2), tel.Sum("otelcol_breaker_transitions").DataPoints[0].Value)
	})
}
