package predictprocessor

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-collector/vigil/internal/pdatautil"
)

// maxQuantileBuckets bounds the buckets of a histogram whose quantile is tracked: a cumulative
// one keeps its previous bucket counts (8 bytes each) per series.
const maxQuantileBuckets = 256

// skipReason says why a watched point taught the model nothing.
type skipReason string

const (
	skipNone         skipReason = ""
	skipNaN          skipReason = "nan"
	skipOutOfOrder   skipReason = "out_of_order"
	skipCounterReset skipReason = "counter_reset"
	skipNoValue      skipReason = "no_value"
	skipUnsupported  skipReason = "unsupported"
	// skipFirst marks the first point of a cumulative series: it only sets the base the next
	// point's rate is taken from (not counted as skipped).
	skipFirst skipReason = "first"
)

// gaugeValue returns a gauge point's value as it is.
func gaugeValue(s *series, dp pmetric.NumberDataPoint, ts int64) (float64, skipReason) {
	v, _ := pdatautil.NumberValue(dp) // a point without a value reads 0, as pdata's DoubleValue does
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, skipNaN
	}
	return v, s.checkTime(ts)
}

// checkTime rejects points not newer than the series' latest (out of order or repeated).
func (s *series) checkTime(ts int64) skipReason {
	if s.points > 0 && ts <= s.last {
		return skipOutOfOrder
	}
	if s.srcHave && ts <= s.srcTime {
		return skipOutOfOrder
	}
	return skipNone
}

// restarted tells whether a cumulative point begins a new run (its start time changed).
func (s *series) restarted(start pcommon.Timestamp) bool {
	return start != 0 && s.srcStart != 0 && int64(start) != s.srcStart
}

// sumValue turns a sum point into the value to learn: a monotonic cumulative counter becomes its
// per-second rate (a drop or a new start time is a reset), a monotonic delta its rate over its
// interval, and a non-monotonic sum is taken as it is.
func (s *series) sumValue(sum pmetric.Sum, dp pmetric.NumberDataPoint, ts int64) (float64, skipReason) {
	v, _ := pdatautil.NumberValue(dp)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, skipNaN
	}
	if r := s.checkTime(ts); r != skipNone {
		return 0, r
	}
	if !sum.IsMonotonic() {
		return v, skipNone
	}
	if sum.AggregationTemporality() == pmetric.AggregationTemporalityDelta {
		start := int64(dp.StartTimestamp())
		switch {
		case start != 0 && ts > start:
			return v / (float64(ts-start) / 1e9), skipNone
		case s.points > 0:
			return v / (float64(ts-s.last) / 1e9), skipNone
		default:
			return 0, skipNoValue
		}
	}
	had, reset := s.srcHave, s.restarted(dp.StartTimestamp()) || v < s.srcValue
	prevV, prevT := s.srcValue, s.srcTime
	s.srcHave, s.srcStart, s.srcTime, s.srcValue = true, int64(dp.StartTimestamp()), ts, v
	switch {
	case !had:
		return 0, skipFirst
	case reset:
		return 0, skipCounterReset
	}
	return (v - prevV) / (float64(ts-prevT) / 1e9), skipNone
}

// histogramValue returns the mean (or the rule's quantile) of the observations a histogram
// point adds: the point itself when delta, the difference from the previous point when cumulative.
func (s *series) histogramValue(temporality pmetric.AggregationTemporality, dp pmetric.HistogramDataPoint, ts int64) (float64, skipReason) {
	if r := s.checkTime(ts); r != skipNone {
		return 0, r
	}
	if s.rule.quantile == 0 && !dp.HasSum() {
		return 0, skipNoValue
	}
	count, sum := dp.Count(), dp.Sum()
	buckets := dp.BucketCounts()
	if s.rule.quantile > 0 && buckets.Len() > maxQuantileBuckets {
		return 0, skipUnsupported // telemetry is hostile input: bound what a series keeps
	}
	if temporality == pmetric.AggregationTemporalityCumulative {
		var delta []uint64
		reset := false
		if s.rule.quantile > 0 {
			reset = buckets.Len() != len(s.srcBuckets)
			if !reset && !s.restarted(dp.StartTimestamp()) && count >= s.srcCount {
				delta = make([]uint64, buckets.Len())
				for i := range delta {
					if buckets.At(i) < s.srcBuckets[i] { // a bucket went down: a restart
						reset = true
						break
					}
					delta[i] = buckets.At(i) - s.srcBuckets[i]
				}
			}
			s.srcBuckets = append(s.srcBuckets[:0], buckets.AsRaw()...)
		}
		var r skipReason
		if count, sum, r = s.advance(dp.StartTimestamp(), ts, count, sum, reset); r != skipNone {
			return 0, r
		}
		return s.histogramStatistic(count, sum, dp.ExplicitBounds(), func() []uint64 { return delta })
	}
	return s.histogramStatistic(count, sum, dp.ExplicitBounds(), buckets.AsRaw)
}

// histogramStatistic returns the rule's quantile of the observations a histogram point adds
// (counts are read only then), else their mean.
func (s *series) histogramStatistic(count uint64, sum float64, bounds pcommon.Float64Slice, counts func() []uint64) (float64, skipReason) {
	if count == 0 {
		return 0, skipNoValue
	}
	if s.rule.quantile > 0 {
		return bucketQuantile(s.rule.quantile, bounds, counts())
	}
	return sum / float64(count), skipNone
}

// bucketQuantile interpolates quantile q inside explicit buckets as Prometheus'
// histogram_quantile does: linearly within the bucket, the first bucket starting at 0 (when its
// upper bound is positive), and the overflow bucket answering its lower bound.
func bucketQuantile(q float64, bounds pcommon.Float64Slice, counts []uint64) (float64, skipReason) {
	if len(counts) == 0 || len(counts) != bounds.Len()+1 {
		return 0, skipNoValue
	}
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0, skipNoValue
	}
	rank := q * float64(total)
	var cum float64
	for i, c := range counts {
		prev := cum
		cum += float64(c)
		if cum < rank || c == 0 {
			continue
		}
		if i == len(counts)-1 { // overflow bucket
			if bounds.Len() == 0 {
				return 0, skipNoValue
			}
			return bounds.At(bounds.Len() - 1), skipNone
		}
		upper := bounds.At(i)
		lower := 0.0
		if i > 0 {
			lower = bounds.At(i - 1)
		} else if upper <= 0 {
			return upper, skipNone
		}
		return lower + (upper-lower)*(rank-prev)/float64(c), skipNone
	}
	return bounds.At(bounds.Len() - 1), skipNone
}

// expHistogramValue returns the mean of the observations an exponential histogram point adds.
func (s *series) expHistogramValue(temporality pmetric.AggregationTemporality, dp pmetric.ExponentialHistogramDataPoint, ts int64) (float64, skipReason) {
	if r := s.checkTime(ts); r != skipNone {
		return 0, r
	}
	if s.rule.quantile > 0 {
		return 0, skipUnsupported
	}
	if !dp.HasSum() {
		return 0, skipNoValue
	}
	count, sum := dp.Count(), dp.Sum()
	if temporality == pmetric.AggregationTemporalityCumulative {
		var r skipReason
		if count, sum, r = s.advance(dp.StartTimestamp(), ts, count, sum, false); r != skipNone {
			return 0, r
		}
	}
	if count == 0 {
		return 0, skipNoValue
	}
	return sum / float64(count), skipNone
}

// summaryValue returns the rule's quantile when the summary reports it, else the mean of the
// observations it adds since the previous point (summaries are cumulative).
func (s *series) summaryValue(dp pmetric.SummaryDataPoint, ts int64) (float64, skipReason) {
	if r := s.checkTime(ts); r != skipNone {
		return 0, r
	}
	if q := s.rule.quantile; q > 0 {
		qs := dp.QuantileValues()
		for i := 0; i < qs.Len(); i++ {
			if math.Abs(qs.At(i).Quantile()-q) < 1e-9 {
				return qs.At(i).Value(), skipNone
			}
		}
		return 0, skipUnsupported
	}
	count, sum, r := s.advance(dp.StartTimestamp(), ts, dp.Count(), dp.Sum(), false)
	switch {
	case r != skipNone:
		return 0, r
	case count == 0:
		return 0, skipNoValue
	}
	return sum / float64(count), skipNone
}

// advance makes a cumulative point's count and sum the series' latest and returns what they
// added since the previous point: skipFirst for the series' first point, skipCounterReset when
// the run restarted (a new start time, a count going down, or reset set by the caller).
func (s *series) advance(start pcommon.Timestamp, ts int64, count uint64, sum float64, reset bool) (uint64, float64, skipReason) {
	had := s.srcHave
	reset = reset || s.restarted(start) || count < s.srcCount
	prevCount, prevSum := s.srcCount, s.srcValue
	s.srcHave, s.srcStart, s.srcTime, s.srcCount, s.srcValue = true, int64(start), ts, count, sum
	switch {
	case !had:
		return 0, 0, skipFirst
	case reset:
		return 0, 0, skipCounterReset
	}
	return count - prevCount, sum - prevSum, skipNone
}
