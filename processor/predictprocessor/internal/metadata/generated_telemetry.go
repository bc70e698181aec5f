package metadata

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/internal/ownmetrics"
)

// Meter returns the processor's meter from the component's MeterProvider.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the processor's own instruments (otelcol_predict_*).
type TelemetryBuilder struct {
	meter         metric.Meter
	mu            sync.Mutex
	registrations []metric.Registration

	// PredictPoints counts the data points of watched series the models learnt from.
	PredictPoints metric.Int64Counter
	// PredictPointsSkipped counts watched points not learnt from, by reason.
	PredictPointsSkipped metric.Int64Counter
	// PredictSeriesEvicted counts series dropped to stay within max_series.
	PredictSeriesEvicted metric.Int64Counter
	// PredictSeries is the number of series the processor holds state for.
	PredictSeries metric.Int64ObservableGauge
}

// NewTelemetryBuilder creates the instruments.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	b := &TelemetryBuilder{meter: Meter(settings)}
	in := ownmetrics.Instruments{Meter: b.meter}
	b.PredictPoints = in.Int64Counter("otelcol_predict_points",
		"Data points of watched series the predict models learnt from", "{point}")
	b.PredictPointsSkipped = in.Int64Counter("otelcol_predict_points_skipped",
		"Data points of watched series skipped, by reason (nan, out_of_order, counter_reset, no_value, unsupported)", "{point}")
	b.PredictSeriesEvicted = in.Int64Counter("otelcol_predict_series_evicted",
		"Series dropped (least recently seen first) to stay within max_series", "{series}")
	b.PredictSeries = in.Int64ObservableGauge("otelcol_predict_series",
		"Series the predict processor holds a model for", "{series}")
	return b, in.Err
}

// RegisterPredictSeriesCallback reports the series count through cb on every collection.
func (b *TelemetryBuilder) RegisterPredictSeriesCallback(cb func() int64) error {
	reg, err := b.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(b.PredictSeries, cb())
		return nil
	}, b.PredictSeries)
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
