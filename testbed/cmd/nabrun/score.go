package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"time"
)

// The NAB v1.1 scoring rules, as testbed/nab/score.py applies them (that script is the reference;
// TestGoScorerMatchesScorePy checks this copy against it). nabrun needs them in process to choose
// tunable values on some categories and score the others without writing files.

// profile is one of NAB's cost profiles: the weights of a true positive, a false positive and a
// false negative.
type profile struct {
	name        string
	tp, fp, fn  float64
	summaryName string
}

var profiles = []profile{
	{name: "standard", tp: 1, fp: 0.11, fn: 1, summaryName: "standard"},
	{name: "reward_low_FP_rate", tp: 1, fp: 0.22, fn: 1, summaryName: "low_fp"},
	{name: "reward_low_FN_rate", tp: 1, fp: 0.11, fn: 2, summaryName: "low_fn"},
}

const (
	probationPercent = 0.15
	noDetection      = 1.1 // above every valid score: nothing flagged
)

// scaledSigmoid is NAB's S(p) = 2*sigmoid(-5p) - 1, and -1 beyond p = 3.
func scaledSigmoid(p float64) float64 {
	if p > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*p)) - 1
}

var maxTP = scaledSigmoid(-1)

// rowWeight is what a detection at one scored row is worth: inside window w (>= 0) the reward
// base S(p)/S(-1), outside any window (w = -1) the unweighted false-positive cost (negative).
type rowWeight struct {
	w    int
	base float64
}

// weights returns the scored rows' weights of one file (rows after probation) and the file's
// number of windows. Window ids start at firstWindow so that pooled files keep them distinct.
func weights(n int, spans [][2]int, firstWindow int) []rowWeight {
	inside := make([]int, n)
	for i := range inside {
		inside[i] = -1
	}
	for k, s := range spans {
		for i := s[0]; i <= s[1]; i++ {
			inside[i] = k
		}
	}
	probation := int(math.Min(math.Floor(probationPercent*float64(n)), probationPercent*5000))
	out := make([]rowWeight, 0, n-probation)
	havePrev := false
	var prevRight, prevWidth int
	for i := 0; i < n; i++ {
		var base float64
		w := -1
		if k := inside[i]; k >= 0 {
			left, right := spans[k][0], spans[k][1]
			width := right - left + 1
			base = scaledSigmoid(-float64(right-i+1)/float64(width)) / maxTP
			w = firstWindow + k
			if i == right {
				havePrev, prevRight, prevWidth = true, right, width
			}
		} else if !havePrev {
			base = -1
		} else {
			base = scaledSigmoid(math.Abs(float64(prevRight-i)) / float64(max(prevWidth-1, 1)))
		}
		if i >= probation {
			out = append(out, rowWeight{w: w, base: base})
		}
	}
	return out
}

// entry is one scored row: its anomaly score and what a detection there is worth.
type entry struct {
	s float64
	rowWeight
}

// pool is the scored rows of a set of files, by descending score, ready for threshold search.
type pool struct {
	e        []entry
	windows  int // all windows of the files (NAB's "perfect" counts every one)
	scorable int // windows with at least one scored row
}

// newPool pools one file's scored rows: rows are its weights, scores all its rows' scores.
func newPool(rows []rowWeight, scores []float64, windows int) *pool {
	probation := len(scores) - len(rows)
	p := &pool{e: make([]entry, len(rows)), windows: windows}
	seen := map[int]bool{}
	for i, r := range rows {
		p.e[i] = entry{s: scores[probation+i], rowWeight: r}
		if r.w >= 0 && !seen[r.w] {
			seen[r.w] = true
			p.scorable++
		}
	}
	slices.SortStableFunc(p.e, func(a, b entry) int { return cmp.Compare(b.s, a.s) })
	return p
}

// merge pools several pools (each by descending score) into one, keeping the order.
func merge(ps ...*pool) *pool {
	out := &pool{}
	n := 0
	for _, p := range ps {
		n += len(p.e)
		out.windows += p.windows
		out.scorable += p.scorable
	}
	out.e = make([]entry, 0, n)
	idx := make([]int, len(ps))
	for len(out.e) < n {
		best := -1
		for k, p := range ps {
			if idx[k] < len(p.e) && (best < 0 || p.e[idx[k]].s > ps[best].e[idx[best]].s) {
				best = k
			}
		}
		out.e = append(out.e, ps[best].e[idx[best]])
		idx[best]++
	}
	return out
}

// result is one profile's outcome at one threshold.
type result struct {
	threshold, score, raw float64
	detected, fp          int
}

// normalize maps a raw sum to NAB's 0 (null detector) .. 100 (perfect) scale; NaN without windows.
func (p *pool) normalize(raw float64, pr profile) float64 {
	null, perfect := -pr.fn*float64(p.scorable), pr.tp*float64(p.windows)
	if perfect == null {
		return math.NaN()
	}
	return 100 * (raw - null) / (perfect - null)
}

// evaluate scores the pool when every row with score >= threshold is a detection.
func (p *pool) evaluate(threshold float64, pr profile) result {
	first := map[int]float64{} // window -> reward of its earliest (highest-base) detection
	var fpSum float64
	fpCount := 0
	for _, e := range p.e {
		if e.s < threshold {
			break
		}
		if e.w < 0 {
			fpCount++
			fpSum += e.base * pr.fp
		} else if b, ok := first[e.w]; !ok || e.base > b {
			first[e.w] = e.base
		}
	}
	raw := fpSum - pr.fn*float64(p.scorable-len(first))
	for _, w := range slices.Sorted(maps.Keys(first)) { // in a fixed order: ties must stay ties
		raw += pr.tp * first[w]
	}
	return result{threshold: threshold, score: p.normalize(raw, pr), raw: raw, detected: len(first), fp: fpCount}
}

// best is NAB's threshold optimisation: the distinct score that, as threshold, maximises the raw
// score over the pool (ties go to the highest threshold).
func (p *pool) best(pr profile) result {
	parts := map[int]float64{}
	for _, e := range p.e {
		if e.w >= 0 {
			parts[e.w] = -pr.fn
		}
	}
	total := -pr.fn * float64(len(parts))
	fpSum, cur := 0.0, noDetection
	bestRaw, bestT := total, cur
	for _, e := range p.e {
		if e.s != cur {
			if total+fpSum > bestRaw {
				bestRaw, bestT = total+fpSum, cur
			}
			cur = e.s
		}
		if e.w < 0 {
			fpSum += e.base * pr.fp
		} else if e.base*pr.tp > parts[e.w] {
			total += e.base*pr.tp - parts[e.w]
			parts[e.w] = e.base * pr.tp
		}
	}
	if total+fpSum > bestRaw {
		bestT = cur
	}
	return p.evaluate(bestT, pr)
}

// readLabels reads NAB's combined_windows.json: file -> windows as [start, end] timestamps.
func readLabels(path string) (map[string][][2]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var labels map[string][][2]string
	if err := json.Unmarshal(b, &labels); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return labels, nil
}

// spansOf turns a file's label windows into row spans: each edge is the first row holding that
// timestamp (a few NAB files repeat a daylight-saving hour).
func spansOf(ts []time.Time, windows [][2]string) ([][2]int, error) {
	index := make(map[time.Time]int, len(ts))
	for i, t := range ts {
		if _, ok := index[t]; !ok {
			index[t] = i
		}
	}
	spans := make([][2]int, 0, len(windows))
	for _, w := range windows {
		var s [2]int
		for k, edge := range w {
			t, err := parseTime(edge)
			if err != nil {
				return nil, fmt.Errorf("label window: %w", err)
			}
			i, ok := index[t]
			if !ok {
				return nil, fmt.Errorf("label window edge %s is no data timestamp", edge)
			}
			s[k] = i
		}
		spans = append(spans, s)
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a][0] < spans[b][0] })
	return spans, nil
}
