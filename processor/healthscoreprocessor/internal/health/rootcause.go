package health

import (
	"cmp"
	"math"
	"slices"
)

// RootCause is a component whose own evidence explains why other components are not healthy.
type RootCause struct {
	// Name is the component; Rank its place among the pass's root causes (1 = most likely).
	Name string
	Rank int
	// OwnScore is the score of its own signals (without dependencies).
	OwnScore float64
	// Explains lists, sorted, the components that are not healthy and reach it over edges on
	// which their calls failed or were slow (itself included).
	Explains []string
}

// RootCauses returns the pass's root causes, most likely first. The slice is the snapshot's
// own: callers must not modify it.
func (s *Snapshot) RootCauses() []RootCause { return s.rootCauses }

// rankRootCauses names the root causes of a pass. A component is suspect when its own evidence
// (OwnScore) is below the healthy cut-off. An edge is failing when the caller's own calls on it
// are (the edge's health below the cut-off). A suspect is explained by a deeper suspect when one
// of its failing edges leads to it; a root cause is a suspect that no deeper suspect explains
// (in a cycle of suspects that explain each other, the one with the lowest own score). Root
// causes rank by how many components that are not healthy they explain, then by lower own score,
// then by name. The work is linear in components and edges, and nothing is allocated per
// component when no component is suspect.
func (s *Snapshot) rankRootCauses(deps [][]dep, healthy float64) {
	s.rootCauses = nil
	suspect, found := s.suspects(healthy)
	if !found {
		return
	}
	g := failingGraph(deps, healthy)
	causes := s.explain(g, g.roots(suspect, s.Components))
	slices.SortFunc(causes, func(a, b RootCause) int {
		if c := cmp.Compare(len(b.Explains), len(a.Explains)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.OwnScore, b.OwnScore); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	for r := range causes {
		causes[r].Rank = r + 1
		s.Components[s.index(causes[r].Name)].RootCauseRank = r + 1
		for _, name := range causes[r].Explains {
			if c := &s.Components[s.index(name)]; c.RootCause == "" {
				c.RootCause = causes[r].Name
			}
		}
	}
	s.rootCauses = causes
}

// suspects marks the components whose own evidence is below the healthy cut-off.
func (s *Snapshot) suspects(healthy float64) ([]bool, bool) {
	var suspect []bool
	for i, c := range s.Components {
		if !math.IsNaN(c.OwnScore) && c.OwnScore < healthy {
			if suspect == nil {
				suspect = make([]bool, len(s.Components))
			}
			suspect[i] = true
		}
	}
	return suspect, suspect != nil
}

// index returns the position of the component named name (components are sorted by name).
func (s *Snapshot) index(name string) int {
	i, _ := slices.BinarySearchFunc(s.Components, name, func(c ComponentScore, name string) int { return cmp.Compare(c.Name, name) })
	return i
}

// graph holds a pass's failing edges: failing[i] the callees i's calls found failing, callers[j]
// the callers whose calls to j failed.
type graph struct {
	failing, callers [][]int
}

func failingGraph(deps [][]dep, healthy float64) graph {
	g := graph{failing: make([][]int, len(deps)), callers: make([][]int, len(deps))}
	for i, ds := range deps {
		for _, d := range ds {
			if d.health < healthy {
				g.failing[i] = append(g.failing[i], d.callee)
				g.callers[d.callee] = append(g.callers[d.callee], i)
			}
		}
	}
	return g
}

// roots returns the suspects that no deeper suspect explains. Suspects that reach no root over
// failing edges to suspects sit in (or lead into) a cycle; the lowest own score among them
// becomes a root, until every suspect reaches one.
func (g graph) roots(suspect []bool, comps []ComponentScore) []int {
	n := len(suspect)
	var roots []int
	reach := make([]bool, n)
	var queue []int
	// mark adds r as a root and everything that reaches it over failing edges to suspects.
	mark := func(r int) {
		roots = append(roots, r)
		reach[r] = true
		queue = append(queue[:0], r)
		for q := 0; q < len(queue); q++ {
			for _, c := range g.callers[queue[q]] {
				if suspect[c] && !reach[c] {
					reach[c] = true
					queue = append(queue, c)
				}
			}
		}
	}
	for i := range n {
		if suspect[i] && !slices.ContainsFunc(g.failing[i], func(j int) bool { return suspect[j] }) {
			mark(i)
		}
	}
	for {
		pick := -1
		for i := range n {
			if suspect[i] && !reach[i] && (pick < 0 || comps[i].OwnScore < comps[pick].OwnScore) {
				pick = i
			}
		}
		if pick < 0 {
			break
		}
		mark(pick)
	}
	slices.Sort(roots)
	return roots
}

// explain returns each root with the components that are not healthy and reach it over failing
// edges (itself included).
func (s *Snapshot) explain(g graph, roots []int) []RootCause {
	causes := make([]RootCause, 0, len(roots))
	up := upstreamWalk{stamp: make([]uint32, len(s.Components))}
	for _, i := range roots {
		rc := RootCause{Name: s.Components[i].Name, OwnScore: s.Components[i].OwnScore}
		for _, j := range up.from(g.callers, i) {
			if c := s.Components[j]; j == i || (c.Known && c.Status != "healthy") {
				rc.Explains = append(rc.Explains, c.Name)
			}
		}
		slices.Sort(rc.Explains)
		causes = append(causes, rc)
	}
	return causes
}

// upstreamWalk finds the components upstream of a root, reusing its buffers across roots.
type upstreamWalk struct {
	stamp []uint32 // stamp[j] == gen: j was reached in this walk
	gen   uint32
	out   []int
}

// from returns i and every component that reaches i over failing edges (valid until the next
// call).
func (w *upstreamWalk) from(callers [][]int, i int) []int {
	w.gen++
	w.stamp[i] = w.gen
	w.out = append(w.out[:0], i)
	for q := 0; q < len(w.out); q++ {
		for _, c := range callers[w.out[q]] {
			if w.stamp[c] != w.gen {
				w.stamp[c] = w.gen
				w.out = append(w.out, c)
			}
		}
	}
	return w.out
}
