package metadata

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/internal/componenttest"
)

func TestTelemetryBuilder(t *testing.T) {
	componenttest.CheckTelemetryBuilder(t, NewTelemetryBuilder, "otelcol_healthscore_components", func(tel *componenttest.Telemetry, tb *TelemetryBuilder) {
		require.NoError(t, tb.RegisterObservables(func(_ context.Context, o metric.Observer) error {
			o.ObserveInt64(tb.Components, 7)
			o.ObserveInt64(tb.Skipped, 3, metric.WithAttributes(attribute.String("reason", "no_peer")))
			return nil
		}))
		tb.ScoringDuration.Record(context.Background(), 0.002)

		assert.Equal(t, int64(7), tel.Gauge("otelcol_healthscore_components")[0].Value)
		sum := tel.Sum("otelcol_healthscore_skipped")
		assert.True(t, sum.IsMonotonic)
		assert.Equal(t, int64(3), sum.DataPoints[0].Value)
		assert.Equal(t, uint64(1), tel.Histogram("otelcol_healthscore_scoring_duration")[0].Count)
	})
}
