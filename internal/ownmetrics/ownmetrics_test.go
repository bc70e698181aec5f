package ownmetrics

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/goleak"

	"github.com/vigil-collector/vigil/internal/componenttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBuilderRegistersUntilShutdown(t *testing.T) {
	tel := componenttest.NewTelemetry(t)
	b := NewBuilder(tel.Settings(), "test")
	g := b.Int64ObservableGauge("g", "", "1")
	c := b.Int64ObservableGauge("c", "", "1")
	require.NoError(t, b.Err)
	require.NoError(t, b.Shutdown(), "shutting down before registering does nothing")

	require.NoError(t, b.Register(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(g, 3)
		return nil
	}, g))
	require.NoError(t, b.ObserveInt64(c, func() int64 { return 5 }, metric.WithAttributes(attribute.String("signal", "traces"))))
	assert.Equal(t, int64(3), tel.Int64("g"))
	dps := tel.Gauge("c")
	require.Len(t, dps, 1)
	assert.Equal(t, int64(5), dps[0].Value)
	signal, _ := dps[0].Attributes.Value("signal")
	assert.Equal(t, "traces", signal.AsString())

	require.NoError(t, b.Shutdown())
	tel.AssertGone("g", "no callback, no data")
	tel.AssertGone("c", "every callback is unregistered")
	require.NoError(t, b.Shutdown(), "a second shutdown does nothing")
}

func TestBuilderRegisterError(t *testing.T) {
	tel := componenttest.NewTelemetry(t)
	b := NewBuilder(tel.Settings(), "test")
	require.Error(t, b.Register(func(context.Context, metric.Observer) error { return nil }, nil),
		"an instrument of no meter cannot be registered")
	require.NoError(t, b.Shutdown())
}

func TestInstruments(t *testing.T) {
	tel := componenttest.NewTelemetry(t)
	in := Instruments{Meter: tel.Settings().MeterProvider.Meter("test")}
	c := in.Int64Counter("c", "a counter", "{item}")
	h := in.Float64Histogram("h", "a histogram", "s", 0.1, 1)
	in.Int64ObservableCounter("oc", "", "1")
	in.Int64ObservableGauge("og", "", "1")
	in.Int64UpDownCounter("ud", "", "1")
	require.NoError(t, in.Err)
	c.Add(context.Background(), 2)
	h.Record(context.Background(), 0.5)
	m := tel.Metric("c")
	assert.Equal(t, "a counter", m.Description)
	assert.Equal(t, "{item}", m.Unit)
	assert.Equal(t, []float64{0.1, 1}, tel.Histogram("h")[0].Bounds)

	in.Int64Counter("", "an invalid name", "1")
	assert.Error(t, in.Err, "the error of an instrument is kept")
}

// tagged declares one instrument of every kind Create makes, and fields it must leave alone.
type tagged struct {
	*Builder
	untagged metric.Int64Counter

	Counter   metric.Int64Counter           `metric:"c" unit:"{item}" desc:"a counter"`
	UpDown    metric.Int64UpDownCounter     `metric:"ud" unit:"1" desc:"up and down"`
	ObsCount  metric.Int64ObservableCounter `metric:"oc" unit:"1" desc:""`
	ObsGauge  metric.Int64ObservableGauge   `metric:"og" unit:"1" desc:""`
	Gauge     metric.Float64Gauge           `metric:"g" unit:"s" desc:"a gauge"`
	Histogram metric.Float64Histogram       `metric:"h" unit:"s" desc:"a histogram" bounds:"0.1, 1,5"`
}

func TestCreateFromTags(t *testing.T) {
	tel := componenttest.NewTelemetry(t)
	tb := &tagged{Builder: NewBuilder(tel.Settings(), "test")}
	require.NoError(t, tb.Create(tb))
	assert.Nil(t, tb.untagged, "a field without a metric tag is left alone")
	ctx := context.Background()
	tb.Counter.Add(ctx, 2)
	tb.UpDown.Add(ctx, -1)
	tb.Gauge.Record(ctx, 1.5)
	tb.Histogram.Record(ctx, 0.5)
	require.NoError(t, tb.ObserveInt64(tb.ObsGauge, func() int64 { return 4 }))
	require.NoError(t, tb.ObserveInt64(tb.ObsCount, func() int64 { return 6 }))

	c := tel.Metric("c")
	assert.Equal(t, "a counter", c.Description)
	assert.Equal(t, "{item}", c.Unit)
	assert.Equal(t, int64(2), tel.Sum("c").DataPoints[0].Value)
	assert.False(t, tel.Sum("ud").IsMonotonic)
	assert.Equal(t, int64(-1), tel.Sum("ud").DataPoints[0].Value)
	assert.True(t, tel.Sum("oc").IsMonotonic)
	assert.Equal(t, int64(6), tel.Sum("oc").DataPoints[0].Value)
	assert.Equal(t, int64(4), tel.Gauge("og")[0].Value)
	assert.Equal(t, "a gauge", tel.Metric("g").Description)
	assert.Equal(t, []float64{0.1, 1, 5}, tel.Histogram("h")[0].Bounds)
	require.NoError(t, tb.Shutdown())

	assert.Equal(t, []string{"c", "ud", "oc", "og", "g", "h"}, Names(tb))
}

func TestCreateRefusesWhatItCannotMake(t *testing.T) {
	tel := componenttest.NewTelemetry(t)
	var bad struct {
		NotAnInstrument int                     `metric:"x"`
		BadBounds       metric.Float64Histogram `metric:"h" bounds:"0.1,one"`
		Fine            metric.Int64Counter     `metric:"c"`
	}
	err := NewBuilder(tel.Settings(), "test").Create(&bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "NotAnInstrument: int is not an instrument type")
	assert.Contains(t, err.Error(), `BadBounds: bounds: strconv.ParseFloat: parsing "one"`)
	assert.NotNil(t, bad.Fine, "the other instruments are made")
}
