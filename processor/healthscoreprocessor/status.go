package healthscoreprocessor

import (
	"time"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/health"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"
)

// statusPass turns a scoring pass into what the status extension keeps: every component with
// its score, status, present signals and the root cause the pass ranked for it (the one
// health.root_cause names, so the API and the metrics agree), and the service graph with each
// edge's own figures. A component the ranking explains by nothing is left to the status
// extension's own walk of the graph.
func statusPass(snap *health.Snapshot) *statusfeed.Pass {
	p := &statusfeed.Pass{
		At:         snap.At,
		Healthy:    snap.Healthy,
		Degraded:   snap.Degraded,
		Components: make([]statusfeed.Component, len(snap.Components)),
		Edges:      make([]statusfeed.Edge, 0, len(snap.Edges)),
	}
	for i, c := range snap.Components {
		sc := statusfeed.Component{Name: c.Name, Known: c.Known, Score: c.Score, Status: c.Status}
		if c.RootCause != "" {
			sc.RootCause = []string{c.RootCause}
		}
		for n := range score.NumSignals {
			if c.Signals.Present[n] {
				sc.Signals = append(sc.Signals, statusfeed.Signal{Name: n.String(), Value: c.Signals.Value[n]})
			}
		}
		p.Components[i] = sc
	}
	for _, d := range snap.Edges {
		e := statusfeed.Edge{Caller: d.Caller, Callee: d.Callee, CallsPerSecond: d.Rate}
		if d.HasCalls {
			e.ErrorRatio = d.ErrorRatio
		}
		if d.HasLatency {
			e.LatencyP95 = time.Duration(d.LatencyP95 * float64(time.Second))
		}
		p.Edges = append(p.Edges, e)
	}
	return p
}
