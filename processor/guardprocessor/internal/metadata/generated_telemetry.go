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
	GuardValuesTruncated metric.Int64Counter
	// GuardValuesSanitized counts values whose control, bidi or invalid UTF-8 characters were replaced.
	GuardValuesSanitized metric.Int64Counter
	// GuardSeriesRefused counts new series refused, by reason (max_series, max_new_per_interval).
	GuardSeriesRefused metric.Int64Counter
	// GuardItemsDropped counts the data points and spans dropped because their series was refused.
	GuardItemsDropped metric.Int64Counter
	// GuardSeriesExpired counts series forgotten after expiration without data.
	GuardSeriesExpired metric.Int64Counter
	// GuardSeries is the weight of the series the processor tracks (exposition lines).
	GuardSeries metric.Int64ObservableGauge
}

// NewTelemetryBuilder creates the instruments.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	b := &TelemetryBuilder{Builder: ownmetrics.NewBuilder(settings, ScopeName)}
	b.GuardValuesTruncated = b.Int64Counter("otelcol_guard_values_truncated",
		"Attribute values, span names and metric names cut to max_value_length", "{value}")
	b.GuardValuesSanitized = b.Int64Counter("otelcol_guard_values_sanitized",
		"Values whose control, bidi-override or invalid UTF-8 characters were replaced by U+FFFD", "{value}")
	b.GuardSeriesRefused = b.Int64Counter("otelcol_guard_series_refused",
		"New series refused, by reason (max_series, max_new_per_interval)", "{series}")
	b.GuardItemsDropped = b.Int64Counter("otelcol_guard_items_dropped",
		"Data points and spans dropped because their series was refused, by signal", "{item}")
	b.GuardSeriesExpired = b.Int64Counter("otelcol_guard_series_expired",
		"Series forgotten after the expiration without data", "{series}")
	b.GuardSeries = b.Int64ObservableGauge("otelcol_guard_series",
		"Weight of the series tracked (exposition lines: 1 per gauge or sum, buckets + 2 per histogram), by signal", "{series}")
	return b, b.Err
}
