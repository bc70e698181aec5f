package metadata

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/internal/ownmetrics"
)

// TelemetryBuilder holds the receiver's own instruments, exported with the collector's telemetry
// (on :8888 by default) as otelcol_healthcheck_*.
type TelemetryBuilder struct {
	*ownmetrics.Builder

	// ProbeScheduleDrift is how late each probe started against its schedule, in seconds.
	ProbeScheduleDrift metric.Float64Histogram `metric:"otelcol_healthcheck_probe_schedule_drift" unit:"s" desc:"How late probes started against their schedule." bounds:"0.0001,0.00025,0.0005,0.001,0.0025,0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5"`
	// ProbesMissed counts scheduled probes skipped because the previous probe of the same
	// target was still running (at most one probe is in flight per target).
	ProbesMissed metric.Int64Counter `metric:"otelcol_healthcheck_probes_missed" unit:"{probe}" desc:"Scheduled probes skipped because the target's previous probe was still running."`
	// Probes counts completed probes by outcome (success or the error.type).
	Probes metric.Int64Counter `metric:"otelcol_healthcheck_probes" unit:"{probe}" desc:"Completed probes by outcome."`
}

// NewTelemetryBuilder creates the instruments from the component's meter provider.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	tb := &TelemetryBuilder{Builder: ownmetrics.NewBuilder(settings, ScopeName)}
	return tb, tb.Create(tb)
}
