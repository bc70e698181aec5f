package metadata

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/internal/ownmetrics"
)

// TelemetryBuilder holds the processor's own instruments, exported with the collector's telemetry
// (on :8888 by default) as otelcol_healthscore_*. Counts that change per span are kept by the
// engine in atomics and read by one callback at collection time, so the span path never calls
// into the metrics SDK.
type TelemetryBuilder struct {
	*ownmetrics.Builder

	// ScoringDuration is how long each scoring pass took, in seconds.
	ScoringDuration metric.Float64Histogram `metric:"otelcol_healthscore_scoring_duration" unit:"s" desc:"Duration of each scoring pass over every component." bounds:"0.0001,0.0005,0.001,0.005,0.01,0.05,0.1,0.5,1,5"`
	// Components, Edges and Hosts are the entries tracked now.
	Components metric.Int64ObservableGauge `metric:"otelcol_healthscore_components" unit:"{component}" desc:"Components (services and peers) tracked, at most max_components."`
	Edges      metric.Int64ObservableGauge `metric:"otelcol_healthscore_edges" unit:"{edge}" desc:"Caller to callee edges tracked, at most max_edges."`
	Hosts      metric.Int64ObservableGauge `metric:"otelcol_healthscore_hosts" unit:"{host}" desc:"Hosts whose utilisation is tracked, at most max_hosts."`
	// Outcomes counts span outcomes by class (success, error, timeout).
	Outcomes metric.Int64ObservableCounter `metric:"otelcol_healthscore_outcomes" unit:"{outcome}" desc:"Span outcomes recorded (and fed to the breaker), by class."`
	// Skipped counts skipped spans, metric points and names by reason.
	Skipped metric.Int64ObservableCounter `metric:"otelcol_healthscore_skipped" unit:"{item}" desc:"Spans, metric points and names skipped, by reason."`
	// Evictions counts entries dropped by kind (component, edge, host) and reason (cap: past its
	// max_*, the least recently seen; expired: no data for expire_after).
	Evictions metric.Int64ObservableCounter `metric:"otelcol_healthscore_evictions" unit:"{entry}" desc:"Components, edges and hosts dropped, by kind and reason (cap, expired)."`
}

// NewTelemetryBuilder creates the instruments from the component's meter provider.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	tb := &TelemetryBuilder{Builder: ownmetrics.NewBuilder(settings, ScopeName)}
	return tb, tb.Create(tb)
}
