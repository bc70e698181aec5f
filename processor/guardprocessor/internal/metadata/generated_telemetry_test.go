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
	assert.Equal(t, "guard", Type.String())
	assert.Equal(t, "Alpha", MetricsStability.String())
}

func TestTelemetryBuilder(t *testing.T) {
	componenttest.CheckTelemetryBuilder(t, NewTelemetryBuilder, "otelcol_guard_series", func(tel *componenttest.Telemetry, b *TelemetryBuilder) {
		require.NoError(t, b.ObserveInt64(b.GuardSeries, func() int64 { return 7 }))
		b.GuardSeriesRefused.Add(context.Background(), 3)

		assert.Equal(t, int64(3), tel.Sum("otelcol_guard_series_refused").DataPoints[0].Value)
		assert.Equal(t, int64(7), tel.Gauge("otelcol_guard_series")[0].Value)
	})
}
