package metadata

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/internal/ownmetrics"
)

// TelemetryBuilder holds the processor's own instruments (otelcol_guard_*). GuardSeries is
// observed through the embedded Builder's ObserveInt64, once per signal.
type TelemetryBuilder struct {
	*ownmetrics.Builder

	// GuardValuesTruncated counts attribute values and names cut to max_value_length.
	GuardValuesTruncated metric.Int64Counter `metric:"otelcol_guard_values_truncated" unit:"{value}" desc:"Attribute values, span names and metric names cut to max_value_length"`
	// GuardValuesSanitized counts values whose control, bidi or invalid UTF-8 characters were replaced.
	GuardValuesSanitized metric.Int64Counter `metric:"otelcol_guard_values_sanitized" unit:"{value}" desc:"Values whose control, bidi-override or invalid UTF-8 characters were replaced by U+FFFD"`
	// GuardSeriesRefused counts new series refused, by reason (max_series, max_new_per_interval).
	GuardSeriesRefused metric.Int64Counter `metric:"otelcol_guard_series_refused" unit:"{series}" desc:"New series refused, by reason (max_series, max_new_per_interval)"`
	// GuardItemsDropped counts the data points and spans dropped because their series was refused.
	GuardItemsDropped metric.Int64Counter `metric:"otelcol_guard_items_dropped" unit:"{item}" desc:"Data points and spans dropped because their series was refused, by signal"`
	// GuardSeriesExpired counts series forgotten after expiration without data.
	GuardSeriesExpired metric.Int64Counter `metric:"otelcol_guard_series_expired" unit:"{series}" desc:"Series forgotten after the expiration without data"`
	// GuardSeries is the weight of the series the processor tracks (exposition lines).
	GuardSeries metric.Int64ObservableGauge `metric:"otelcol_guard_series" unit:"{series}" desc:"Weight of the series tracked (exposition lines: 1 per gauge or sum, buckets + 2 per histogram), by signal"`
}

// NewTelemetryBuilder creates the instruments.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	b := &TelemetryBuilder{Builder: ownmetrics.NewBuilder(settings, ScopeName)}
	return b, b.Create(b)
}
