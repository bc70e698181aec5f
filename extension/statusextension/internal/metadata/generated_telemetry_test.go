package metadata

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestTypeAndStability(t *testing.T) {
	assert.Equal(t, "status", Type.String())
	assert.Equal(t, "Development", ExtensionStability.String())
}

func TestTelemetryBuilder(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	b, err := NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	require.NoError(t, b.RegisterStatsCallback(func() Stats {
		return Stats{Components: 7, OpenIncidents: 2, WatchStreams: 1, Dropped: 3, IncidentsRefused: 4, WatchDropped: 5}
	}))
	for name, want := range map[string]int64{"otelcol_status_components": 7, "otelcol_status_incidents_open": 2, "otelcol_status_watch_streams": 1} {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		assert.Equal(t, want, m.Data.(metricdata.Gauge[int64]).DataPoints[0].Value, name)
	}
	for name, want := range map[string]int64{"otelcol_status_dropped": 3, "otelcol_status_incidents_refused": 4, "otelcol_status_watch_dropped": 5} {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		assert.Equal(t, want, m.Data.(metricdata.Sum[int64]).DataPoints[0].Value, name)
	}
	b.Shutdown()
	_, err = tel.GetMetric("otelcol_status_components")
	assert.Error(t, err, "the callback is unregistered at shutdown")
}
