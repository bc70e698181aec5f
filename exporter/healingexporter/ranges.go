package healingexporter

import (
	"fmt"
	"math"
)

// valueRange is the declared range of a metric's values.
type valueRange struct{ min, max float64 }

// declaredRanges are the value ranges of the metrics the Vigil components emit (the metric
// contract in docs/DESIGN.md) and of the host utilisations they read. A rule whose threshold lies
// outside its metric's range is almost always a unit mistake (90 for 90% on a 0–1 metric): its
// condition then always holds or never does.
var declaredRanges = map[string]valueRange{
	"health.score":                  {0, 1},
	"health.status":                 {0, 1},
	"health.signal":                 {0, 1},
	"health.root_cause":             {0, math.Inf(1)},
	"health.dependency.error.ratio": {0, 1},
	"healthcheck.status":            {0, 1},
	"breaker.state":                 {0, 2},
	"predict.risk":                  {0, 1},
	"predict.anomaly.score":         {0, 1},
	"system.cpu.utilization":        {0, 1},
	"system.memory.utilization":     {0, 1},
	"system.filesystem.utilization": {0, 1},
}

// rangeWarnings returns one message per rule whose threshold lies outside its metric's declared
// range (rules over metrics without a declared range are not checked).
func rangeWarnings(rules []RuleConfig) []string {
	var out []string
	for i, r := range rules {
		vr, ok := declaredRanges[r.When.Metric]
		if !ok || (r.When.Threshold >= vr.min && r.When.Threshold <= vr.max) {
			continue
		}
		out = append(out, fmt.Sprintf("rules[%d] (%s): threshold %v is outside %s's range [%v, %v], so `%s %s %v` always or never holds; is it in the metric's unit?",
			i, r.Name, r.When.Threshold, r.When.Metric, vr.min, vr.max, r.When.Metric, r.When.Op, r.When.Threshold))
	}
	return out
}
