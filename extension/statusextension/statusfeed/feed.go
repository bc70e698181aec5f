// Package statusfeed defines how the other components publish into the status extension, the
// one place that answers "how is my system, and why" (GET /v1/status, /v1/incidents,
// /v1/health/{service}, the watch stream and the status page). A component finds the extension
// through host.GetExtensions() by the ID named in its config and type-asserts it to Publisher:
//
//	ext, ok := host.GetExtensions()[id]
//	pub, ok := ext.(statusfeed.Publisher)
//	pub.PublishScores(&statusfeed.Pass{At: now, Components: ...})
//
// Every method is safe for concurrent use and returns without waiting for a reader: the
// extension applies the update under its own lock and fans changes out to watch streams that
// have room. Names (services, targets) that are empty, too long, not UTF-8 or hold control
// characters are counted and dropped. A publisher keeps no reference to what it handed over
// beyond the call, and the extension keeps none of the caller's slices: it copies what it keeps.
package statusfeed // import "github.com/vigil-collector/vigil/extension/statusextension/statusfeed"

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/component"
)

// CallerSep joins a caller and a callee into the name of the caller's own breaker of the callee;
// a caller name holding it is refused everywhere (the breaker drops its outcomes, the API and
// the watch stream answer 400).
const CallerSep = "→"

// Publisher is what the status extension offers the components that know something about a
// service's health.
type Publisher interface {
	// PublishScores hands over one scoring pass of the healthscore processor: every component it
	// tracks with its score, status and signals, and the service graph. It replaces the previous
	// pass; a component absent from it is forgotten unless an open incident or a breaker that is
	// not closed keeps it. Called once per scoring interval; it allocates in proportion to the
	// pass.
	PublishScores(pass *Pass)
	// PublishTransition records one breaker transition. Called by the breaker extension after
	// the transition, outside its locks, on the goroutine that caused it (possibly the span
	// path); transitions are rare, and the call does not block. A transition with a Caller is
	// only streamed to that caller's watchers.
	PublishTransition(tr Transition)
	// PublishPredictions records the latest predictions of series tied to a service (resource
	// service.name). Called by the predict processor once per metrics batch with predictions.
	PublishPredictions(preds []Prediction)
	// PublishHealing records one healing decision (every audit record of the healing exporter).
	PublishHealing(d HealingDecision)
}

// Router is implemented by a Publisher that serves HTTP: a component mounts its own API on the
// status extension's server (one address, one auth, one place that owns the listener). The
// breaker extension mounts /v1/breakers this way.
type Router interface {
	// Handle registers h for pattern, a net/http.ServeMux pattern ("GET /v1/breakers/{target}").
	// It returns an error when the pattern is invalid or already taken. Safe at any time, also
	// while the server runs.
	Handle(pattern string, h http.Handler) error
}

// Pass is one scoring pass of the healthscore processor.
type Pass struct {
	At time.Time
	// Healthy and Degraded are the score cut-offs the statuses were named with: healthy from
	// Healthy up, degraded from Degraded up, unhealthy below.
	Healthy, Degraded float64
	// Components are sorted by name or not; each name once.
	Components []Component
	// Edges are the caller → callee dependencies measured over the pass's interval.
	Edges []Edge
}

// Component is one component's verdict in a pass.
type Component struct {
	Name string
	// Known is false when no signal had fresh data (status unknown, Score meaningless).
	Known  bool
	Score  float64
	Status string // healthy, degraded, unhealthy, unknown
	// Signals are the parts of the score that had fresh data.
	Signals []Signal
	// RootCause, when the publisher ranks causes, names the services most likely behind this
	// component's ill health, most likely first; empty lets the status extension walk the
	// service graph itself.
	RootCause []string
}

// Signal is one part of a score.
type Signal struct {
	Name  string // errors, latency, saturation, probe, dependencies, events
	Value float64
}

// Edge is one caller → callee dependency over a scoring interval.
type Edge struct {
	Caller, Callee string
	// CallsPerSecond is the edge's call rate over the interval.
	CallsPerSecond float64
	// ErrorRatio is the share of the edge's calls that failed (0 when there were none).
	ErrorRatio float64
	// LatencyP95 is the 95th percentile latency of the edge's calls; 0 when unknown.
	LatencyP95 time.Duration
}

// Transition is one breaker transition, as the breaker's watch stream has always shown it.
type Transition struct {
	Target string `json:"target"`
	// Caller is set on a transition of one caller's own view of Target (a per-caller breaker).
	// It reaches only the watch streams that asked for that caller (?caller=) and changes
	// neither the component's breaker nor its incidents, which follow the fleet-wide breaker.
	Caller string    `json:"caller,omitempty"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	// Mode is the breaker's mode: auto, forced_open, forced_closed, disabled.
	Mode   string `json:"mode"`
	Reason string `json:"reason"`
	Class  string `json:"class,omitempty"`
	// Counts is the breaker's own account of the counts behind the transition, as a JSON
	// object; passed through to the watch stream and the incident timeline as it is.
	Counts  json.RawMessage `json:"counts,omitempty"`
	RetryAt *time.Time      `json:"retry_at,omitempty"`
}

// Prediction is what the predict processor forecasts for one series tied to a service.
type Prediction struct {
	Service string
	// Source is the predicted metric's name (predict.source).
	Source string
	At     time.Time
	// TimeToThreshold is how long until the forecast crosses Threshold (0: already past it);
	// meaningful when HasThreshold and HasTimeToThreshold.
	TimeToThreshold    time.Duration
	HasTimeToThreshold bool
	Threshold          float64
	HasThreshold       bool
	// Risk is the probability of crossing the threshold within the horizon, 0..1.
	Risk float64
	// Anomaly is how unusual the latest value is for the series, 0..1.
	Anomaly float64
}

// HealingDecision is one decision of the healing exporter (one audit record).
type HealingDecision struct {
	At time.Time
	// Incident is the healing exporter's incident ID (one per rule and target).
	Incident string
	Rule     string
	// Target is the service the rule's target attribute named.
	Target string
	// Decision is fired, dry_run, executing, executed, failed, suppressed, rejected,
	// interrupted or resolved.
	Decision string
	// Reason says why (a suppression's limit, a failure's class, a resolve).
	Reason string
	Action string
	DryRun bool
	Detail string
}

// Find returns the Publisher of the extension named id among host's extensions; nil and no
// error when id is empty (the component publishes nothing). The error tells the operator what
// to configure.
func Find(host component.Host, id component.ID) (Publisher, error) {
	if id == (component.ID{}) {
		return nil, nil
	}
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("status extension %q not found: configure it and list it in service.extensions", id)
	}
	pub, ok := ext.(Publisher)
	if !ok {
		return nil, fmt.Errorf("extension %q is not a status extension (it does not implement statusfeed.Publisher)", id)
	}
	return pub, nil
}
