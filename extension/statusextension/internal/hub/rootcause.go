package hub

import (
	"slices"
	"strings"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// Bounds of the root-cause walk.
const (
	maxRootCauses    = 3
	maxWalkDepth     = 8
	maxWalkVisited   = 1024
	edgeErrorSuspect = 0.05 // an edge failing this share of its calls leads the walk on
)

// rootCauses sets each troubled component's probable root cause for this pass. A publisher's
// own ranking (statusfeed.Component.RootCause) wins; otherwise the hub walks the service graph
// from the component along suspect edges (see suspect), each service once, and names the
// troubled services where the walk stops (no suspect edge to a service not yet visited), worst
// first. A troubled component with no troubled callee is its own root
// cause. The caller holds the write lock.
func (h *Hub) rootCauses(p *statusfeed.Pass) {
	given := make(map[string][]string)
	for i := range p.Components {
		if rc := p.Components[i].RootCause; len(rc) > 0 {
			given[p.Components[i].Name] = rc
		}
	}
	for _, c := range h.comps.All() {
		c.rootCause = nil
		if !c.troubled() {
			continue
		}
		if rc, ok := given[c.name]; ok {
			for _, n := range rc {
				if validName(n, h.s.MaxNameLength) && len(c.rootCause) < maxRootCauses {
					c.rootCause = append(c.rootCause, n)
				}
			}
			continue
		}
		c.rootCause = h.walk(c)
	}
}

// troubled is a component that is degraded or worse, fails its probe, or has a breaker that is
// not closed.
func (c *component) troubled() bool {
	return c.status == StatusDegraded || c.status == StatusUnhealthy || c.probeFailing || !c.breaker.closed()
}

// suspect reports whether the walk goes on from a caller to callee along e: the edge fails a
// share of its calls, or the callee is unhealthy, fails its probe or refuses calls. A degraded
// callee behind a clean edge is no evidence.
func suspect(callee *component, e statusfeed.Edge) bool {
	return e.ErrorRatio >= edgeErrorSuspect || callee.status == StatusUnhealthy || callee.probeFailing || !callee.breaker.closed()
}

func (h *Hub) walk(from *component) []string {
	visited := map[*component]bool{from: true}
	var leaves []*component
	frontier := []*component{from}
	for depth := 0; depth < maxWalkDepth && len(frontier) > 0 && len(visited) < maxWalkVisited; depth++ {
		var next []*component
		for _, c := range frontier {
			led := false
			for _, i := range c.calls {
				e := h.edges[i]
				callee, ok := h.comps.Load(e.Callee)
				if !ok || callee == c {
					continue
				}
				if !suspect(callee, e) || visited[callee] || len(visited) >= maxWalkVisited {
					continue
				}
				led = true
				visited[callee] = true
				next = append(next, callee)
			}
			if !led && c.troubled() {
				leaves = append(leaves, c)
			}
		}
		frontier = next
	}
	for _, c := range frontier { // past the depth bound: the deepest troubled ones seen
		if c.troubled() {
			leaves = append(leaves, c)
		}
	}
	slices.SortFunc(leaves, func(a, b *component) int {
		if d := severity(b.status) - severity(a.status); d != 0 {
			return d
		}
		if a.known && b.known && a.score != b.score {
			return cmpFloat(a.score, b.score)
		}
		return strings.Compare(a.name, b.name)
	})
	if len(leaves) == 0 {
		return []string{from.name} // it calls nothing troubled: it is its own root cause
	}
	out := make([]string, 0, min(len(leaves), maxRootCauses))
	for _, c := range leaves {
		if len(out) == maxRootCauses {
			break
		}
		out = append(out, c.name)
	}
	return out
}
