package health

import (
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// minErrorSeverity is the lowest severity number of an ERROR record (ERROR is 17..20, FATAL
// 21..24, in OpenTelemetry's log data model).
const minErrorSeverity = plog.SeverityNumberError

// ObserveLogs counts each service's log records and, among them, its ERROR and FATAL records
// (severity number 17 and up), the inputs of the events signal. A resource without a string
// service.name is skipped and counted, as spans are. It takes no lock: the counts are atomics.
func (e *Engine) ObserveLogs(ld plog.Logs, now time.Time) {
	nowNs := now.UnixNano()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		var total, errs uint64
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			recs := sls.At(j).LogRecords()
			for k := 0; k < recs.Len(); k++ {
				total++
				if recs.At(k).SeverityNumber() >= minErrorSeverity {
					errs++
				}
			}
		}
		if total == 0 {
			continue
		}
		c, r := e.resourceComponent(rl.Resource().Attributes(), nowNs)
		if c == nil {
			e.skip(r, total)
			continue
		}
		c.logs.Add(total | errs<<32)
	}
}
