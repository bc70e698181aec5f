package otlp

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// AppendGauge appends to md a resource with the attributes (key, value, ...) holding one gauge
// named name, and returns the gauge's points for the caller to add.
func AppendGauge(md pmetric.Metrics, name, unit string, resource ...string) pmetric.NumberDataPointSlice {
	rm := md.ResourceMetrics().AppendEmpty()
	for i := 0; i+1 < len(resource); i += 2 {
		rm.Resource().Attributes().PutStr(resource[i], resource[i+1])
	}
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	return m.SetEmptyGauge().DataPoints()
}

// AppendSpan appends to td a resource of service holding one span of name and kind that ended at
// end after lasting d; the caller sets its ids and attributes.
func AppendSpan(td ptrace.Traces, service, name string, kind ptrace.SpanKind, end time.Time, d time.Duration) ptrace.Span {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	setSpan(sp, name, kind, end, d)
	return sp
}

// setSpan names sp, sets its kind, and makes it end at end after lasting d.
func setSpan(sp ptrace.Span, name string, kind ptrace.SpanKind, end time.Time, d time.Duration) {
	sp.SetName(name)
	sp.SetKind(kind)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-d)))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
}
