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
// then by name.
func (s *Snapshot) rankRootCauses(deps [][]dep, healthy float64) {
	n := len(s.Components)
	suspect := make([]bool, n)
	found := false
	for i, c := range s.Components {
		suspect[i] = !math.IsNaN(c.OwnScore) && c.OwnScore < healthy
		found = found || suspect[i]
	}
	if !found {
		s.rootCauses = nil
		return // a healthy world: nothing to rank, nothing allocated per component
	}
	// failing[i]: callees that i's calls on the edge found failing; callers[j] the reverse.
	failing := make([][]int, n)
	callers := make([][]int, n)
	for i, ds := range deps {
		for _, d := range ds {
			if d.health < healthy {
				failing[i] = append(failing[i], d.callee)
				callers[d.callee] = append(callers[d.callee], i)
			}
		}
	}
	root := make([]bool, n)
	for i := range n {
		if !suspect[i] {
			continue
		}
		root[i] = !slices.ContainsFunc(failing[i], func(j int) bool { return suspect[j] })
	}
	// A suspect that reaches no root over failing edges to suspects sits in (or leads into) a
	// cycle: the lowest own score of each such group becomes its root.
	for {
		reach := reachesRoot(failing, suspect, root)
		pick := -1
		for i := range n {
			if suspect[i] && !reach[i] && (pick < 0 || s.Components[i].OwnScore < s.Components[pick].OwnScore) {
				pick = i
			}
		}
		if pick < 0 {
			break
		}
		root[pick] = true
	}

	var causes []RootCause
	up := upstreamWalk{stamp: make([]uint32, n)}
	for i := range n {
		if !root[i] {
			continue
		}
		rc := RootCause{Name: s.Components[i].Name, OwnScore: s.Components[i].OwnScore}
		for _, j := range up.from(callers, i) {
			if c := s.Components[j]; c.Known && c.Status != "healthy" || j == i {
				rc.Explains = append(rc.Explains, c.Name)
			}
		}
		slices.Sort(rc.Explains)
		causes = append(causes, rc)
	}
	slices.SortFunc(causes, func(a, b RootCause) int {
		if c := cmp.Compare(len(b.Explains), len(a.Explains)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.OwnScore, b.OwnScore); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	// Components are sorted by name.
	index := func(name string) int {
		i, _ := slices.BinarySearchFunc(s.Components, name, func(c ComponentScore, name string) int { return cmp.Compare(c.Name, name) })
		return i
	}
	for r := range causes {
		causes[r].Rank = r + 1
		s.Components[index(causes[r].Name)].RootCauseRank = r + 1
		for _, name := range causes[r].Explains {
			if c := &s.Components[index(name)]; c.RootCause == "" {
				c.RootCause = causes[r].Name
			}
		}
	}
	s.rootCauses = causes
}

// reachesRoot reports, for each suspect, whether it reaches a root over failing edges to
// suspects (a root reaches itself).
func reachesRoot(failing [][]int, suspect, root []bool) []bool {
	n := len(failing)
	reach := slices.Clone(root)
	// Propagate backwards until nothing changes: at most n rounds over the edges.
	for changed := true; changed; {
		changed = false
		for i := range n {
			if reach[i] || !suspect[i] {
				continue
			}
			for _, j := range failing[i] {
				if suspect[j] && reach[j] {
					reach[i], changed = true, true
					break
				}
			}
		}
	}
	return reach
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
