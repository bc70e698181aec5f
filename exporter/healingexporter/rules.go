package healingexporter

import (
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/engine"
)

// maxTargetBytes bounds a target value; longer values are skipped and counted.
const maxTargetBytes = 256

// compiledRule is a rule with its matchers sorted by attribute name.
type compiledRule struct {
	cfg   RuleConfig
	match []matcher
}

type matcher struct{ key, value string }

// compileRules compiles the rules and indexes them by the metric they watch.
func compileRules(rules []RuleConfig) ([]compiledRule, map[string][]int) {
	compiled := make([]compiledRule, 0, len(rules))
	byMetric := map[string][]int{}
	for i, r := range rules {
		cr := compiledRule{cfg: r}
		for k, v := range r.When.Match {
			cr.match = append(cr.match, matcher{k, v})
		}
		slices.SortFunc(cr.match, func(a, b matcher) int { return strings.Compare(a.key, b.key) })
		compiled = append(compiled, cr)
		byMetric[r.When.Metric] = append(byMetric[r.When.Metric], i)
	}
	return compiled, byMetric
}

func lookup(key string, dp pcommon.Map, res pcommon.Map) (string, bool) {
	if v, ok := dp.Get(key); ok {
		return v.AsString(), true
	}
	if v, ok := res.Get(key); ok {
		return v.AsString(), true
	}
	return "", false
}

// evaluate returns the observation of one rule on one point; a non-empty reason is a counted skip,
// and (nil, "") a point the rule's matchers do not select.
func (r *compiledRule) evaluate(idx int, dp pmetric.NumberDataPoint, res pcommon.Map, v float64) (*engine.Observation, string) {
	for _, m := range r.match {
		got, ok := lookup(m.key, dp.Attributes(), res)
		if !ok || got != m.value {
			return nil, ""
		}
	}
	target, ok := lookup(r.cfg.Target, dp.Attributes(), res)
	switch {
	case !ok || target == "":
		return nil, "no_target"
	case len(target) > maxTargetBytes:
		return nil, "target_too_long"
	}
	return &engine.Observation{Rule: idx, Target: strings.ToValidUTF8(target, "\uFFFD"), Holds: compare(v, r.cfg.When.Op, r.cfg.When.Threshold),
		Value: v, ObservedAt: int64(dp.Timestamp())}, ""
}

func compare(v float64, op string, t float64) bool {
	switch op {
	case ">":
		return v > t
	case ">=":
		return v >= t
	case "<":
		return v < t
	case "<=":
		return v <= t
	case "==":
		return v == t
	case "!=":
		return v != t
	}
	return false
}
