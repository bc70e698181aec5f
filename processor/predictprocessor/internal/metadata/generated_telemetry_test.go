package metadata

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-collector/vigil/internal/componenttest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestTypeAndStability(t *testing.T) {
	assert.Equal(t, "predict", Type.String())
	assert.Equal(t, "Alpha", MetricsStability.String())
}

func TestTelemetryBuilder(t *testing.T) {
	componenttest.CheckTelemetryBuilder(t, NewTelemetryBuilder, "otelcol_predict_series", func(tel *componenttest.Telemetry, b *TelemetryBuilder) {
		require.NoError(t, b.ObserveInt64(b.PredictSeries, func() int64 { return 7 }))
		b.PredictPoints.Add(context.Background(), 3)
		b.PredictSeriesEvicted.Add(context.Background(), 1)

		assert.Equal(t, int64(3), tel.Sum("otelcol_predict_points").DataPoints[0].Value)
		assert.Equal(t, "{point}", tel.Metric("otelcol_predict_points").Unit)
		assert.Equal(t, int64(7), tel.Gauge("otelcol_predict_series")[0].Value)
	})
}
