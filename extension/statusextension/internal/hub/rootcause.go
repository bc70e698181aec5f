package hub

import (
	"slices"

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
// from the component along edges to callees that are themselves troubled, or that fail the
// edge's calls, and names the troubled services at the end of those paths (a callee whose own
// callees are fine), worst first. A troubled component with no troubled callee is its own root
// cause. The caller holds the write lock.
func (h *Hub) rootCauses(p *statusfeed.Pass) {
	given := make(map[string][]string)
	for i := range p.Components {
		if rc := p.Components[i].RootCause; len(rc) > 0 {
			given[p.Components[i].Name] = rc
		}
	}
	for _, c := range h.comps {
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
				callee, ok := h.comps[e.Callee]
				if !ok || callee == c {
					continue
				}
				if !callee.troubled() && e.ErrorRatio < edgeErrorSuspect {
					continue
				}
				led = true
				if !visited[callee] && len(visited) < maxWalkVisited {
					visited[callee] = true
					next = append(next, callee)
				}
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
		return cmpString(a.name, b.name)
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
