package metadata

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/internal/ownmetrics"
)

// Stats are the figures the extension's instruments observe.
type Stats struct {
	Components, OpenIncidents, WatchStreams int64
	Dropped, IncidentsRefused, WatchDropped int64
}

// TelemetryBuilder holds the extension's own instruments (otelcol_status_*), all observed from
// the status model on each collection.
type TelemetryBuilder struct {
	*ownmetrics.Builder

	// StatusComponents is the number of components the status holds.
	StatusComponents metric.Int64ObservableGauge `metric:"otelcol_status_components" unit:"{component}" desc:"Components the status extension holds"`
	// StatusIncidentsOpen is the number of open incidents.
	StatusIncidentsOpen metric.Int64ObservableGauge `metric:"otelcol_status_incidents_open" unit:"{incident}" desc:"Incidents not resolved"`
	// StatusWatchStreams is the number of open /v1/watch streams.
	StatusWatchStreams metric.Int64ObservableGauge `metric:"otelcol_status_watch_streams" unit:"{stream}" desc:"Open /v1/watch streams"`
	// StatusDropped counts published names refused (invalid, or every component held).
	StatusDropped metric.Int64ObservableCounter `metric:"otelcol_status_dropped" unit:"{name}" desc:"Published names refused: invalid, or past max_components with every component held"`
	// StatusIncidentsRefused counts incidents not opened because max_incidents were all open.
	StatusIncidentsRefused metric.Int64ObservableCounter `metric:"otelcol_status_incidents_refused" unit:"{incident}" desc:"Incidents not opened because max_incidents incidents were all open"`
	// StatusWatchDropped counts events a slow watch stream missed.
	StatusWatchDropped metric.Int64ObservableCounter `metric:"otelcol_status_watch_dropped" unit:"{event}" desc:"Events a slow /v1/watch stream missed"`
}

// NewTelemetryBuilder creates the instruments.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	b := &TelemetryBuilder{Builder: ownmetrics.NewBuilder(settings, ScopeName)}
	return b, b.Create(b)
}

// RegisterStatsCallback reports stats() through the instruments on every collection; at start.
// The embedded Builder's Shutdown unregisters it.
func (b *TelemetryBuilder) RegisterStatsCallback(stats func() Stats) error {
	return b.RegisterObservables(func(_ context.Context, o metric.Observer) error {
		s := stats()
		o.ObserveInt64(b.StatusComponents, s.Components)
		o.ObserveInt64(b.StatusIncidentsOpen, s.OpenIncidents)
		o.ObserveInt64(b.StatusWatchStreams, s.WatchStreams)
		o.ObserveInt64(b.StatusDropped, s.Dropped)
		o.ObserveInt64(b.StatusIncidentsRefused, s.IncidentsRefused)
		o.ObserveInt64(b.StatusWatchDropped, s.WatchDropped)
		return nil
	})
}
