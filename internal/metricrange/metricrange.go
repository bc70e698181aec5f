// Package metricrange holds the declared value ranges of the metrics Vigil's components emit
// (the metric contract in docs/DESIGN.md) and of the host utilisations they read, so every
// component that takes a threshold on a metric can tell a threshold that can never be crossed
// (90 for 90% on a 0–1 metric) from a real one.
package metricrange // import "github.com/vigil-collector/vigil/internal/metricrange"

import (
	"fmt"
	"math"
)

// Range is a closed interval of values.
type Range struct{ Min, Max float64 }

// Contains reports whether v lies in r.
func (r Range) Contains(v float64) bool { return v >= r.Min && v <= r.Max }

// String formats r as [min, max].
func (r Range) String() string { return fmt.Sprintf("[%v, %v]", r.Min, r.Max) }

var declared = map[string]Range{
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

// Of returns the declared range of metric, and false for a metric without one.
func Of(metric string) (Range, bool) {
	r, ok := declared[metric]
	return r, ok
}
