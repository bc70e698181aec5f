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
	var errs [4]error
	b.PredictPoints, errs[0] = b.meter.Int64Counter("otelcol_predict_points",
		metric.WithDescription("Data points of watched series the predict models learnt from"), metric.WithUnit("{point}"))
	b.PredictPointsSkipped, errs[1] = b.meter.Int64Counter("otelcol_predict_points_skipped",
		metric.WithDescription("Data points of watched series skipped, by reason (nan, out_of_order, counter_reset, no_value, unsupported)"), metric.WithUnit("{point}"))
	b.PredictSeriesEvicted, errs[2] = b.meter.Int64Counter("otelcol_predict_series_evicted",
		metric.WithDescription("Series dropped (least recently seen first) to stay within max_series"), metric.WithUnit("{series}"))
	b.PredictSeries, errs[3] = b.meter.Int64ObservableGauge("otelcol_predict_series",
		metric.WithDescription("Series the predict processor holds a model for"), metric.WithUnit("{series}"))
	return b, errors.Join(errs[:]...)
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
