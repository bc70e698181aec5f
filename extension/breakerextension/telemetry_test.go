package breakerextension

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/metadata"
	"github.com/vigil-collector/vigil/internal/componenttest"
	"github.com/vigil-collector/vigil/internal/ownmetrics"
)

// TestOwnTelemetry runs the extension on the collector's telemetry, opens a breaker, refuses a
// name, and checks what the collector's telemetry then holds, and that documentation.md lists it.
func TestOwnTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry(t)
	e := newExtension(loopbackConfig(), tel.Settings(), breaker.NewFake(time.Unix(0, 0)))
	require.NoError(t, e.Start(context.Background(), componenttest.NopHost()))
	for range 8 {
		e.RecordOutcome("payments", breakerfeed.Outcome{Class: breakerfeed.Timeout})
	}
	e.RecordOutcome("bad\nname", breakerfeed.Outcome{Class: breakerfeed.Success})
	st, _ := e.State("payments")
	require.Equal(t, breakerfeed.Open, st)

	want := map[string]int64{
		"otelcol_breaker_targets":         1,
		"otelcol_breaker_dropped":         1,
		"otelcol_breaker_evicted_targets": 0,
		"otelcol_breaker_watch_streams":   0,
		"otelcol_breaker_watch_dropped":   0,
	}
	tel.AssertInt64(want)
	dps := tel.Sum("otelcol_breaker_transitions").DataPoints
	require.Len(t, dps, 1)
	to, _ := dps[0].Attributes.Value(attribute.Key("to"))
	assert.Equal(t, "open", to.AsString())
	assert.Equal(t, int64(1), dps[0].Value)
	componenttest.AssertDocumented(t, ownmetrics.Names(new(metadata.TelemetryBuilder))...)

	require.NoError(t, e.Shutdown(context.Background()))
	tel.AssertGone("otelcol_breaker_targets", "the callback is unregistered at shutdown")
}
