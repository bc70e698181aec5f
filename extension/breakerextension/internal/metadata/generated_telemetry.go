package metadata

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/internal/ownmetrics"
)

// TelemetryBuilder holds the extension's own instruments, exported with the collector's
// telemetry (on :8888 by default) as otelcol_breaker_*: the extension's own health, without a
// target attribute. Every value is read by one callback at collection time from counters the
// breakers keep anyway, so recording an outcome never calls into the metrics SDK. The per-target
// series are on the API port's /metrics (see the README).
type TelemetryBuilder struct {
	*ownmetrics.Builder

	// Targets is the targets tracked now.
	Targets metric.Int64ObservableGauge `metric:"otelcol_breaker_targets" unit:"{target}" desc:"Targets tracked, at most max_targets."`
	// Dropped counts outcomes, probes and overrides refused for their target name or for want
	// of room.
	Dropped metric.Int64ObservableCounter `metric:"otelcol_breaker_dropped" unit:"{item}" desc:"Outcomes, probes and overrides refused for an invalid target name or a registry full of pinned targets."`
	// Evicted counts targets evicted past max_targets.
	Evicted metric.Int64ObservableCounter `metric:"otelcol_breaker_evicted_targets" unit:"{target}" desc:"Targets evicted, least recently seen first, to stay within max_targets."`
	// Transitions counts transitions by the state entered and the reason.
	Transitions metric.Int64ObservableCounter `metric:"otelcol_breaker_transitions" unit:"{transition}" desc:"Breaker transitions, by the state entered and why."`
	// WatchStreams is the watch streams open now; WatchDropped counts the transitions they
	// missed for a full buffer.
	WatchStreams metric.Int64ObservableGauge   `metric:"otelcol_breaker_watch_streams" unit:"{stream}" desc:"Open gRPC health Watch streams."`
	WatchDropped metric.Int64ObservableCounter `metric:"otelcol_breaker_watch_dropped" unit:"{transition}" desc:"Transitions a slow watch stream missed because its buffer was full."`
}

// NewTelemetryBuilder creates the instruments from the component's meter provider.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	tb := &TelemetryBuilder{Builder: ownmetrics.NewBuilder(settings, ScopeName)}
	return tb, tb.Create(tb)
}
