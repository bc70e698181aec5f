package otlp

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestAppendServerSpans: one resource per call, n SERVER spans of the given duration, ids distinct
// across the spans of a batch and across seeds.
func TestAppendServerSpans(t *testing.T) {
	end := time.Unix(1_700_000_000, 0).UTC()
	td := ptrace.NewTraces()
	for i := range 300 {
		AppendServerSpans(td, "svc", i, 3, 7, end, 20*time.Millisecond)
	}
	other := ptrace.NewTraces()
	AppendServerSpans(other, "svc", 0, 3, 9, end, 20*time.Millisecond)

	require.Equal(t, 300, td.ResourceSpans().Len())
	require.Equal(t, 900, td.SpanCount())
	seen := map[[8]byte]bool{}
	for i := range td.ResourceSpans().Len() {
		rs := td.ResourceSpans().At(i)
		name, _ := rs.Resource().Attributes().Get("service.name")
		assert.Equal(t, "svc", name.Str())
		spans := rs.ScopeSpans().At(0).Spans()
		for j := range spans.Len() {
			sp := spans.At(j)
			assert.Equal(t, ptrace.SpanKindServer, sp.Kind())
			assert.Equal(t, "op", sp.Name())
			assert.Equal(t, end, sp.EndTimestamp().AsTime())
			assert.Equal(t, 20*time.Millisecond, sp.EndTimestamp().AsTime().Sub(sp.StartTimestamp().AsTime()))
			seen[sp.SpanID()] = true
		}
	}
	assert.Len(t, seen, 900, "span ids distinct within a batch")
	assert.False(t, seen[other.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SpanID()], "another seed, other ids")
}
