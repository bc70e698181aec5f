package hub

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// componentJSON is the component document as encoding/json would write it; the appenders must
// write the same bytes.
type componentJSON struct {
	Name            string             `json:"name"`
	Status          string             `json:"status"`
	Score           *float64           `json:"score"`
	Critical        bool               `json:"critical,omitempty"`
	Signals         map[string]float64 `json:"signals"`
	Breaker         *breakerView       `json:"breaker"`
	Predictions     []predictionView   `json:"predictions"`
	Incident        *string            `json:"incident"`
	ActiveIncidents []healingView      `json:"active_incidents"`
	Dependencies    []edgeJSON         `json:"dependencies"`
	Dependents      []edgeJSON         `json:"dependents"`
	RootCause       []string           `json:"root_cause,omitempty"`
	UpdatedAt       *time.Time         `json:"updated_at"`
}

type edgeJSON struct {
	Service           string  `json:"service"`
	CallsPerSecond    float64 `json:"calls_per_second"`
	ErrorRatio        float64 `json:"error_ratio"`
	LatencyP95Seconds float64 `json:"latency_p95_seconds"`
}

func (h *Hub) reference(c *component) []byte {
	v := componentJSON{Name: c.name, Status: c.status, Score: floatPtr(c.score), Critical: h.critical[c.name],
		Signals: map[string]float64{}, Breaker: c.breaker, Predictions: c.predictions, ActiveIncidents: c.healing,
		RootCause: c.rootCause, Dependencies: []edgeJSON{}, Dependents: []edgeJSON{}}
	for _, s := range c.signals {
		v.Signals[s.Name] = s.Value
	}
	if v.Predictions == nil {
		v.Predictions = []predictionView{}
	}
	if v.ActiveIncidents == nil {
		v.ActiveIncidents = []healingView{}
	}
	if c.incident != nil {
		v.Incident = &c.incident.id
	}
	if !c.seenAt.IsZero() {
		at := c.seenAt.UTC()
		v.UpdatedAt = &at
	}
	for _, i := range c.calls {
		e := h.edges[i]
		v.Dependencies = append(v.Dependencies, edgeJSON{e.Callee, e.CallsPerSecond, e.ErrorRatio, e.LatencyP95.Seconds()})
	}
	for _, i := range c.calledBy {
		e := h.edges[i]
		v.Dependents = append(v.Dependents, edgeJSON{e.Caller, e.CallsPerSecond, e.ErrorRatio, e.LatencyP95.Seconds()})
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestAppendersWriteWhatEncodingJSONWrites(t *testing.T) {
	s := testSettings()
	s.Critical = []string{"pay<ments>"}
	h := New(s, nil)
	hostile := []string{"pay<ments>", "a\"b\\c", "tab\there", "bell\x07", "\u2028line", "bad\xffutf8", "ünïcødé", "&amp;"}
	var comps []statusfeed.Component
	var edges []statusfeed.Edge
	for i, name := range hostile {
		comps = append(comps, statusfeed.Component{Name: name, Known: true, Score: []float64{0, 1, 0.123456789, 1e-9, 0.5}[i%5],
			Status: StatusUnhealthy, Signals: []statusfeed.Signal{{Name: "probe", Value: 0}, {Name: "errors", Value: 1e-7}}})
		edges = append(edges, statusfeed.Edge{Caller: name, Callee: hostile[(i+1)%len(hostile)], CallsPerSecond: 1e22,
			ErrorRatio: 0.25, LatencyP95: 1500 * time.Microsecond})
	}
	comps = append(comps, statusfeed.Component{Name: "quiet", Status: StatusUnknown, Score: math.NaN()})
	// bad\xffutf8 is refused as a name; the rest are kept.
	h.PublishScores(&statusfeed.Pass{At: t0, Healthy: 0.9, Degraded: 0.5, Components: comps, Edges: edges})
	h.PublishTransition(statusfeed.Transition{Target: "a\"b\\c", From: "closed", To: "open", Mode: "auto", Reason: "r<>", At: t0})
	h.PublishHealing(statusfeed.HealingDecision{At: t0, Incident: "x", Rule: "r&", Target: "&amp;", Decision: "fired"})
	h.PublishHealing(statusfeed.HealingDecision{At: t0, Incident: "x", Rule: "r&", Target: "&amp;", Decision: "suppressed", Reason: "cooldown\n", Action: "n", DryRun: true})
	h.PublishPredictions([]statusfeed.Prediction{{Service: "ünïcødé", Source: "health.score", At: t0, Risk: 0.3, Anomaly: 1,
		HasThreshold: true, Threshold: 0.5, HasTimeToThreshold: true, TimeToThreshold: time.Minute}})
	require.Equal(t, len(hostile)-3+1, h.comps.Len(), "names with control characters or invalid UTF-8 are refused")
	for _, c := range h.comps.All() {
		got := h.appendComponent(nil, c)
		assert.True(t, json.Valid(got), "%s", got)
		assert.Equal(t, string(h.reference(c)), string(got), c.name)
	}
}

func TestAppendStringEscapesAsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "tab\there", "bell\x07", "nul\x00", "del\x7f", "<script>&", "\u2028\u2029",
		"bad\xff\xfeutf8", "ünïcødé 日本", "\"quoted\\", "\r\n", "\xed\xa0\x80surrogate"} {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(appendString(nil, s)), "%q", s)
	}
	for _, v := range []float64{0, 1, -1, 0.5, 1e-6, 9.99e-7, 1e-9, 1e21, 1e20, 123456.789, 5e-324, math.MaxFloat64} {
		want, err := json.Marshal(v)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(appendFloat(nil, v)), "%v", v)
	}
}
