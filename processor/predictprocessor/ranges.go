package predictprocessor

import (
	"fmt"
	"math"

	"github.com/vigil-collector/vigil/internal/metricrange"
)

// thresholdWarnings returns one message per watch rule whose threshold lies outside the range its
// metric can take: the rule's own min_value/max_value where set, else the metric's declared range
// (metricrange). Forecasts are bounded to that range, so such a threshold is never crossed; it is
// almost always a unit mistake (90 for 90% on a 0–1 metric).
func thresholdWarnings(watch []WatchRule) []string {
	var out []string
	for i, r := range watch {
		if r.Threshold == nil {
			continue
		}
		vr, declared := metricrange.Of(r.Metric)
		if !declared {
			vr = metricrange.Range{Min: math.Inf(-1), Max: math.Inf(1)}
		}
		if r.MinValue != nil {
			vr.Min, declared = *r.MinValue, true
		}
		if r.MaxValue != nil {
			vr.Max, declared = *r.MaxValue, true
		}
		if !declared || vr.Contains(*r.Threshold) {
			continue
		}
		out = append(out, fmt.Sprintf("watch[%d] (%s): threshold %v is outside the metric's range %s, so it is never crossed; is it in the metric's unit?",
			i, r.Metric, *r.Threshold, vr))
	}
	return out
}
