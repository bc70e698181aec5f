package metadata

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
)

// Meter returns the processor's meter from the component's MeterProvider.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the processor's own instruments (otelcol_guard_*).
type TelemetryBuilder struct {
	meter         metric.Meter
	mu            sync.Mutex
	registrations []metric.Registration

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
	b := &TelemetryBuilder{meter: Meter(settings)}
	var err, errs error
	b.GuardValuesTruncated, err = b.meter.Int64Counter("otelcol_guard_values_truncated",
		metric.WithDescription("Attribute values, span names and metric names cut to max_value_length"),
		metric.WithUnit("{value}"))
	errs = errors.Join(errs, err)
	b.GuardValuesSanitized, err = b.meter.Int64Counter("otelcol_guard_values_sanitized",
		metric.WithDescription("Values whose control, bidi-override or invalid UTF-8 characters were replaced by U+FFFD"),
		metric.WithUnit("{value}"))
	errs = errors.Join(errs, err)
	b.GuardSeriesRefused, err = b.meter.Int64Counter("otelcol_guard_series_refused",
		metric.WithDescription("New series refused, by reason (max_series, max_new_per_interval)"),
		metric.WithUnit("{series}"))
	errs = errors.Join(errs, err)
	b.GuardItemsDropped, err = b.meter.Int64Counter("otelcol_guard_items_dropped",
		metric.WithDescription("Data points and spans dropped because their series was refused, by signal"),
		metric.WithUnit("{item}"))
	errs = errors.Join(errs, err)
	b.GuardSeriesExpired, err = b.meter.Int64Counter("otelcol_guard_series_expired",
		metric.WithDescription("Series forgotten after the expiration without data"),
		metric.WithUnit("{series}"))
	errs = errors.Join(errs, err)
	b.GuardSeries, err = b.meter.Int64ObservableGauge("otelcol_guard_series",
		metric.WithDescription("Weight of the series tracked (exposition lines: 1 per gauge or sum, buckets + 2 per histogram), by signal"),
		metric.WithUnit("{series}"))
	errs = errors.Join(errs, err)
	return b, errs
}

// RegisterGuardSeriesCallback reports cb's value (with opts, e.g. the signal attribute) on every
// collection.
func (b *TelemetryBuilder) RegisterGuardSeriesCallback(cb func() int64, opts ...metric.ObserveOption) error {
	reg, err := b.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(b.GuardSeries, cb(), opts...)
		return nil
	}, b.GuardSeries)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.registrations = append(b.registrations, reg)
	return nil
}

// Shutdown unregisters the callbacks.
func (b *TelemetryBuilder) Shutdown() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, reg := range b.registrations {
		_ = reg.Unregister()
	}
	b.registrations = nil
}
