package breakerextension

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
)

// TestOwnTelemetry runs the extension on the collector's telemetry, opens a breaker, refuses a
// name, and checks what the collector's telemetry then holds, and that documentation.md lists it.
func TestOwnTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	e := newExtension(loopbackConfig(), tel.NewTelemetrySettings(), breaker.NewFake(time.Unix(0, 0)))
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
	for range 8 {
		e.RecordOutcome("payments", breakerfeed.Outcome{Class: breakerfeed.Timeout})
	}
	e.RecordOutcome("bad\nname", breakerfeed.Outcome{Class: breakerfeed.Success})
	st, _ := e.State("payments")
	require.Equal(t, breakerfeed.Open, st)

	doc, err := os.ReadFile("documentation.md")
	require.NoError(t, err)
	want := map[string]int64{
		"otelcol_breaker_targets":         1,
		"otelcol_breaker_dropped":         1,
		"otelcol_breaker_evicted_targets": 0,
		"otelcol_breaker_watch_streams":   0,
		"otelcol_breaker_watch_dropped":   0,
	}
	for name, v := range want {
		m, err := tel.GetMetric(name)
		require.NoError(t, err, name)
		var got int64
		switch d := m.Data.(type) {
		case metricdata.Gauge[int64]:
			got = d.DataPoints[0].Value
		case metricdata.Sum[int64]:
			got = d.DataPoints[0].Value
		}
		assert.Equal(t, v, got, name)
		assert.Contains(t, string(doc), "| `"+name+"` |", "documentation.md lists %s", name)
	}
	m, err := tel.GetMetric("otelcol_breaker_transitions")
	require.NoError(t, err)
	dps := m.Data.(metricdata.Sum[int64]).DataPoints
	require.Len(t, dps, 1)
	to, _ := dps[0].Attributes.Value(attribute.Key("to"))
	assert.Equal(t, "open", to.AsString())
	assert.Equal(t, int64(1), dps[0].Value)
	assert.Contains(t, string(doc), "| `otelcol_breaker_transitions` |")

	require.NoError(t, e.Shutdown(context.Background()))
	_, err = tel.GetMetric("otelcol_breaker_targets")
	assert.Error(t, err, "the callback is unregistered at shutdown")
}
