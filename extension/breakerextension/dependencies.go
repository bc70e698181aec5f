package breakerextension

import (
	"cmp"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
)

// maxDependencyEdges bounds the service graph the extension keeps; past it the edges with the
// lowest call rates are dropped.
const maxDependencyEdges = 100_000

var _ breakerfeed.DependencyFeeder = (*breakerExtension)(nil)

// dependencyGraph is one scoring pass's service graph, replaced whole by each pass.
type dependencyGraph struct {
	at    time.Time
	edges []edgeView
}

type edgeView struct {
	Caller            string  `json:"caller"`
	Callee            string  `json:"callee"`
	CallsPerSecond    float64 `json:"calls_per_second"`
	ErrorRatio        float64 `json:"error_ratio"`
	LatencyP95Seconds float64 `json:"latency_p95_seconds"`
}

// SetDependencies implements breakerfeed.DependencyFeeder. Edges naming an invalid service, or
// with a negative or non-finite figure, are dropped.
func (e *breakerExtension) SetDependencies(at time.Time, edges []breakerfeed.Edge) {
	g := &dependencyGraph{at: at, edges: make([]edgeView, 0, min(len(edges), maxDependencyEdges))}
	for _, d := range edges {
		if breaker.ValidateTarget(d.Caller, e.cfg.MaxTargetLength) != nil || breaker.ValidateTarget(d.Callee, e.cfg.MaxTargetLength) != nil ||
			!(d.CallsPerSecond >= 0) || !(d.ErrorRatio >= 0 && d.ErrorRatio <= 1) || d.LatencyP95 < 0 {
			continue
		}
		g.edges = append(g.edges, edgeView{Caller: d.Caller, Callee: d.Callee, CallsPerSecond: d.CallsPerSecond,
			ErrorRatio: d.ErrorRatio, LatencyP95Seconds: d.LatencyP95.Seconds()})
	}
	if len(g.edges) > maxDependencyEdges {
		slices.SortFunc(g.edges, func(a, b edgeView) int { return cmp.Compare(b.CallsPerSecond, a.CallsPerSecond) })
		g.edges = g.edges[:maxDependencyEdges]
	}
	slices.SortFunc(g.edges, func(a, b edgeView) int {
		return cmp.Or(cmp.Compare(a.Caller, b.Caller), cmp.Compare(a.Callee, b.Callee))
	})
	e.deps.Store(g)
}

type dependenciesBody struct {
	UpdatedAt *time.Time `json:"updated_at"`
	Edges     []edgeView `json:"edges"`
}

// handleDependencies answers the service graph of the last scoring pass; ?service=NAME keeps the
// edges where NAME is the caller or the callee (who it calls, who calls it).
func (e *breakerExtension) handleDependencies(w http.ResponseWriter, r *http.Request) {
	body := dependenciesBody{Edges: []edgeView{}}
	service := r.URL.Query().Get("service")
	if service != "" {
		if err := breaker.ValidateTarget(service, e.cfg.MaxTargetLength); err != nil {
			writeError(w, http.StatusBadRequest, "service: "+err.Error())
			return
		}
	}
	if g := e.deps.Load(); g != nil {
		at := g.at.UTC()
		body.UpdatedAt = &at
		for _, d := range g.edges {
			if service == "" || d.Caller == service || d.Callee == service {
				body.Edges = append(body.Edges, d)
			}
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// depsPointer is the extension's current graph (nil before the first pass).
type depsPointer = atomic.Pointer[dependencyGraph]
