package metadata

import (
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
	assert.Equal(t, "status", Type.String())
	assert.Equal(t, "Development", ExtensionStability.String())
}

func TestTelemetryBuilder(t *testing.T) {
	componenttest.CheckTelemetryBuilder(t, NewTelemetryBuilder, "otelcol_status_components", func(tel *componenttest.Telemetry, b *TelemetryBuilder) {
		require.NoError(t, b.RegisterStatsCallback(func() Stats {
			return Stats{Components: 7, OpenIncidents: 2, WatchStreams: 1, Dropped: 3, IncidentsRefused: 4, WatchDropped: 5}
		}))
		for name, want := range map[string]int64{"otelcol_status_components": 7, "otelcol_status_incidents_open": 2, "otelcol_status_watch_streams": 1} {
			assert.Equal(t, want, tel.Gauge(name)[0].Value, name)
		}
		for name, want := range map[string]int64{"otelcol_status_dropped": 3, "otelcol_status_incidents_refused": 4, "otelcol_status_watch_dropped": 5} {
			assert.Equal(t, want, tel.Sum(name).DataPoints[0].Value, name)
		}
	})
}
