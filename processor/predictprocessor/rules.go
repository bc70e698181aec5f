package predictprocessor

import (
	"math"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/vigil-collector/vigil/processor/predictprocessor/forecast"
)

// rule is a WatchRule compiled for the hot path.
type rule struct {
	index        int
	metric       string
	matchers     []matcher
	hasThreshold bool
	threshold    float64
	dir          float64 // +1: must stay under the threshold, -1: must stay over it
	horizons     []float64
	horizonAttr  []int64
	maxHorizon   float64
	lo, hi       float64 // forecast bounds
	linear       bool
	window       time.Duration
	quantile     float64 // 0: mean
	objective    float64 // 0: no error budget
	burnWindows  []forecast.BurnWindow
}

type matcher struct {
	key   string
	value string
	re    *regexp.Regexp
}

// compileRules turns the validated config's rules into rules grouped by metric name.
func compileRules(cfg *Config) map[string][]*rule {
	byMetric := map[string][]*rule{}
	for i, w := range cfg.Watch {
		r := &rule{index: i, metric: w.Metric, dir: 1, maxHorizon: defaultMaxHorizon.Seconds(), lo: math.Inf(-1), hi: math.Inf(1)}
		if w.MinValue != nil {
			r.lo = *w.MinValue
		}
		if w.MaxValue != nil {
			r.hi = *w.MaxValue
		}
		for _, m := range w.Attributes {
			cm := matcher{key: m.Key, value: m.Value}
			if m.Regex != "" {
				cm.re = regexp.MustCompile("^(?:" + m.Regex + ")$")
			}
			r.matchers = append(r.matchers, cm)
		}
		if w.Threshold != nil {
			r.hasThreshold, r.threshold = true, *w.Threshold
		}
		if w.Direction == directionBelow {
			r.dir = -1
		}
		horizons := w.Horizons
		if len(horizons) == 0 {
			horizons = defaultHorizons
		}
		for _, h := range horizons {
			r.horizons = append(r.horizons, h.Seconds())
			r.horizonAttr = append(r.horizonAttr, int64(h/time.Second))
		}
		if w.MaxHorizon > 0 {
			r.maxHorizon = w.MaxHorizon.Seconds()
		}
		if w.Model == modelLinear {
			r.linear, r.window = true, w.Window
			if r.window == 0 {
				r.window = defaultLinearWindow
			}
		}
		if w.Histogram.Statistic == statisticQuantile {
			r.quantile = w.Histogram.Quantile
		}
		if eb := w.ErrorBudget; eb != nil {
			r.objective = eb.Objective
			r.burnWindows = forecast.DefaultBurnWindows
			if len(eb.Windows) > 0 {
				r.burnWindows = nil
				for _, bw := range eb.Windows {
					r.burnWindows = append(r.burnWindows, forecast.BurnWindow{Long: bw.Long, Short: bw.Short, Factor: bw.Factor})
				}
			}
		}
		byMetric[w.Metric] = append(byMetric[w.Metric], r)
	}
	return byMetric
}

// matches tells whether every matcher finds its attribute on the point, else on the resource.
func (r *rule) matches(point, resource pcommon.Map) bool {
	for i := range r.matchers {
		m := &r.matchers[i]
		v, ok := point.Get(m.key)
		if !ok {
			if v, ok = resource.Get(m.key); !ok {
				return false
			}
		}
		s := v.Str()
		if v.Type() != pcommon.ValueTypeStr {
			s = v.AsString()
		}
		if m.re != nil {
			if !m.re.MatchString(s) {
				return false
			}
		} else if s != m.value {
			return false
		}
	}
	return true
}
