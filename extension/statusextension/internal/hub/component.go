package hub

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// The statuses of a component (health.status).
const (
	StatusHealthy   = "healthy"
	StatusDegraded  = "degraded"
	StatusUnhealthy = "unhealthy"
	StatusUnknown   = "unknown"
)

func validStatus(s string) bool {
	switch s {
	case StatusHealthy, StatusDegraded, StatusUnhealthy, StatusUnknown:
		return true
	}
	return false
}

// severity orders statuses from best to worst, for the overall status and for sorting.
func severity(s string) int {
	switch s {
	case StatusHealthy:
		return 0
	case StatusDegraded:
		return 1
	case StatusUnhealthy:
		return 2
	}
	return -1 // unknown: not better or worse, left out
}

// component is one component's current verdict. Guarded by the hub's lock.
type component struct {
	name         string
	known        bool
	score        float64 // NaN when unknown
	status       string
	signals      []statusfeed.Signal
	probeFailing bool
	seenAt       time.Time // last pass that listed it (zero: never)
	pass         uint64    // the hub's pass that last listed it
	touched      int64     // the hub's tick of the last update, for eviction
	rootCause    []string

	breaker     *breakerView
	predictions []predictionView
	healing     []healingView

	calls, calledBy []int32 // indexes into the hub's edges

	incident *incident // the open incident, if any

	// ver moves on every change (under the write lock); enc caches the JSON of one version,
	// stored by readers under the read lock, hence atomic.
	ver uint64
	enc atomic.Pointer[encoded]
}

type encoded struct {
	ver uint64
	b   []byte
}

type breakerView struct {
	State  string    `json:"state"`
	Mode   string    `json:"mode"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

func (b *breakerView) closed() bool {
	return b == nil || b.State == "closed" || b.State == "forced_closed"
}

type predictionView struct {
	Source          string    `json:"source"`
	TimeToThreshold *float64  `json:"time_to_threshold_seconds,omitempty"`
	Threshold       *float64  `json:"threshold,omitempty"`
	Risk            float64   `json:"risk"`
	Anomaly         float64   `json:"anomaly_score"`
	At              time.Time `json:"at"`
}

// healingView is one healing incident of the component: its rule, the last decision, and the
// last action with its outcome.
type healingView struct {
	Incident string    `json:"incident"`
	Rule     string    `json:"rule"`
	Decision string    `json:"decision"`
	Reason   string    `json:"reason,omitempty"`
	Action   string    `json:"action,omitempty"`
	Outcome  string    `json:"outcome,omitempty"`
	DryRun   bool      `json:"dry_run,omitempty"`
	Since    time.Time `json:"since"`
	At       time.Time `json:"at"`
}

// bad reports whether anything about c calls for an open incident.
func (c *component) bad() bool {
	return c.probeFailing || c.status == StatusUnhealthy || !c.breaker.closed() || len(c.healing) > 0
}

// held reports whether c must be kept though no pass lists it.
func (c *component) held() bool {
	return c.incident != nil || !c.breaker.closed() || len(c.healing) > 0
}

// setPrediction keeps p as the prediction of its source, replacing an older one; when a source
// has several series (one per file system, say), the riskiest of the same time wins. It
// reports whether anything changed.
func (c *component) setPrediction(p statusfeed.Prediction) bool {
	v := predictionView{Source: p.Source, Risk: clamp01(nan0(p.Risk)), Anomaly: clamp01(nan0(p.Anomaly)), At: p.At}
	if p.HasThreshold && !math.IsNaN(p.Threshold) && !math.IsInf(p.Threshold, 0) {
		t := p.Threshold
		v.Threshold = &t
		if p.HasTimeToThreshold && p.TimeToThreshold >= 0 {
			s := p.TimeToThreshold.Seconds()
			v.TimeToThreshold = &s
		}
	}
	for i := range c.predictions {
		old := &c.predictions[i]
		if old.Source != p.Source {
			continue
		}
		if old.At.Equal(v.At) && old.Risk > v.Risk {
			return false
		}
		*old = v
		return true
	}
	if len(c.predictions) >= maxPredictionsPerComponent {
		return false
	}
	c.predictions = append(c.predictions, v)
	return true
}

// setHealing applies one healing decision and reports whether the component has a firing
// healing incident afterwards, and whether the decision belongs to one it tracks (or starts
// one). A decision about a healing incident that already resolved (the resolve notification it
// sends) is not tracked: it does not make the component bad again.
func (c *component) setHealing(d statusfeed.HealingDecision) (firing, tracked bool) {
	idx := -1
	for i := range c.healing {
		if c.healing[i].Incident == d.Incident {
			idx = i
			break
		}
	}
	if d.Decision == "resolved" {
		if idx >= 0 {
			c.healing = append(c.healing[:idx], c.healing[idx+1:]...)
		}
		return len(c.healing) > 0, idx >= 0
	}
	if idx < 0 && d.Decision != "fired" {
		return len(c.healing) > 0, false
	}
	if idx < 0 {
		if len(c.healing) >= maxHealingPerComponent {
			c.healing = c.healing[1:] // the oldest goes
		}
		c.healing = append(c.healing, healingView{Incident: d.Incident, Rule: d.Rule, Since: d.At})
		idx = len(c.healing) - 1
	}
	h := &c.healing[idx]
	h.Decision, h.Reason, h.At = d.Decision, d.Reason, d.At
	if d.Rule != "" {
		h.Rule = d.Rule
	}
	if d.Action != "" {
		h.Action, h.DryRun = d.Action, d.DryRun
		h.Outcome = outcome(d.Decision, d.Reason)
	}
	return true, true
}

// outcome names how an action ended as the status shows it.
func outcome(decision, reason string) string {
	switch decision {
	case "suppressed", "rejected":
		if reason != "" {
			return decision + ": " + reason
		}
	}
	return decision
}

func nan0(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}
