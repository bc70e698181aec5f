package otlp

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// AppendServerSpans appends to td a resource of service holding n SERVER spans named "op" that
// ended at end after lasting d, and returns them. Span j of the resource gets trace and span ids
// made of index (the service's number in its batch), j and seed, so that the spans of one batch
// differ and the batches of two senders differ by seed.
func AppendServerSpans(td ptrace.Traces, service string, index, n int, seed byte, end time.Time, d time.Duration) ptrace.SpanSlice {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for j := range n {
		sp := spans.AppendEmpty()
		setSpan(sp, "op", ptrace.SpanKindServer, end, d)
		sp.SetTraceID(pcommon.TraceID([16]byte{byte(index), byte(index >> 8), byte(j), seed}))
		sp.SetSpanID(pcommon.SpanID([8]byte{byte(index), byte(index >> 8), byte(j), seed}))
	}
	return spans
}
