package healingexporter

import (
	"fmt"

	"github.com/vigil-collector/vigil/internal/metricrange"
)

// rangeWarnings returns one message per rule whose threshold lies outside its metric's declared
// range (metricrange: Vigil's own metrics and the host utilisations; other metrics are not
// checked). Such a threshold is almost always a unit mistake (90 for 90% on a 0–1 metric): its
// condition then always holds or never does.
func rangeWarnings(rules []RuleConfig) []string {
	var out []string
	for i, r := range rules {
		vr, ok := metricrange.Of(r.When.Metric)
		if !ok || vr.Contains(r.When.Threshold) {
			continue
		}
		out = append(out, fmt.Sprintf("rules[%d] (%s): threshold %v is outside %s's range %s, so `%s %s %v` always or never holds; is it in the metric's unit?",
			i, r.Name, r.When.Threshold, r.When.Metric, vr, r.When.Metric, r.When.Op, r.When.Threshold))
	}
	return out
}
