// Package pdatautil holds the small readings of pdata that several components share, so that each
// reads a number point the same way.
package pdatautil

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// NumberPoints returns the number points of a gauge or a sum; false for any other metric type.
func NumberPoints(m pmetric.Metric) (pmetric.NumberDataPointSlice, bool) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints(), true
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints(), true
	}
	return pmetric.NumberDataPointSlice{}, false
}

// NumberValue returns a number point's value as float64, whether it is stored as an int or a
// double; false when the point holds no value (its value type is empty), with the value 0.
func NumberValue(dp pmetric.NumberDataPoint) (float64, bool) {
	switch dp.ValueType() {
	case pmetric.NumberDataPointValueTypeInt:
		return float64(dp.IntValue()), true
	case pmetric.NumberDataPointValueTypeDouble:
		return dp.DoubleValue(), true
	}
	return 0, false
}

// FiniteValue returns a number point's value; false when it has none or it is NaN or infinite.
func FiniteValue(dp pmetric.NumberDataPoint) (float64, bool) {
	v, ok := NumberValue(dp)
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}
