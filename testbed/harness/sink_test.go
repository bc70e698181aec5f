package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestSinkKeepsEverySignal sends one batch of each signal over OTLP/gRPC (an OTLP client) and
// finds each kept.
func TestSinkKeepsEverySignal(t *testing.T) {
	s := NewSink(t)
	otlp := DialOTLP(t, s.Endpoint)

	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("op")
	require.NoError(t, otlp.Traces(td))
	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetName("m")
	require.NoError(t, otlp.Metrics(md))
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("hello")
	require.NoError(t, otlp.Logs(ld))

	require.Len(t, s.Traces(), 1)
	assert.Equal(t, "op", s.Traces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name())
	require.Len(t, s.Metrics(), 1)
	assert.Equal(t, "m", s.Metrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Name())
	require.Len(t, s.Logs(), 1)
	assert.Equal(t, "hello", s.Logs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str())
}
