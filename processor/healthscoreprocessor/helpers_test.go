package healthscoreprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// appendProbe appends a healthcheck.status point of service's probe target to md, as the
// healthcheck receiver sends it (up: 1, down: 0), and returns the point's attributes.
func appendProbe(md pmetric.Metrics, service, target string, up int64) pcommon.Map {
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", service)
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("healthcheck.status")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetIntValue(up)
	dp.Attributes().PutStr("healthcheck.target", target)
	return dp.Attributes()
}
