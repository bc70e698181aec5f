package main

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/vigil-collector/vigil/processor/predictprocessor/forecast"
)

// candidate is one setting of the detector's tunable values.
type candidate struct {
	name string
	cfg  forecast.DetectorConfig
}

// candidates is the grid cross-validation chooses from: every combination of the tunable values
// (tunables), each applied to the shipped configuration. The alert threshold is tuned too, by NAB's
// own threshold search on the training categories.
func candidates() []candidate {
	out := []candidate{{name: "", cfg: forecast.DefaultDetectorConfig()}}
	for _, t := range tunables {
		var next []candidate
		for _, c := range out {
			for _, v := range t.values {
				cfg := c.cfg
				t.set(&cfg, v)
				name := strings.TrimPrefix(fmt.Sprintf("%s %s=%g", c.name, t.name, v), " ")
				next = append(next, candidate{name: name, cfg: cfg})
			}
		}
		out = next
	}
	return out
}

// scored is one candidate's scores, pooled per category.
type scored struct {
	cand       candidate
	categories map[string]*pool
}

// crossValidate runs leave-one-category-out cross-validation: for each category with label
// windows or false positives to count, the candidate and threshold with the best NAB standard score
// on the other categories are chosen and then scored, at that threshold, on the held-out one.
func crossValidate(set dataSet, cands []candidate, verbose bool, w io.Writer) error {
	var cats []string
	for _, s := range set {
		if s.labelled && (len(cats) == 0 || cats[len(cats)-1] != s.category) {
			cats = append(cats, s.category)
		}
	}
	if len(cats) < 2 {
		return fmt.Errorf("cross-validation needs at least two labelled categories, have %d", len(cats))
	}
	runs := make([]scored, len(cands))
	for i, c := range cands {
		runs[i] = scored{cand: c, categories: map[string]*pool{}}
		for _, s := range set {
			if !s.labelled {
				continue
			}
			p := runs[i].categories[s.category]
			if p == nil {
				p = &pool{}
				runs[i].categories[s.category] = p
			}
			p.add(s.weights, s.run(c.cfg), len(s.spans))
		}
	}
	merge := func(r scored, keep func(string) bool) *pool {
		p := &pool{}
		for _, c := range cats {
			if keep(c) {
				q := r.categories[c]
				p.rows, p.scores = append(p.rows, q.rows...), append(p.scores, q.scores...)
				p.windows += q.windows
				p.scorable += q.scorable
			}
		}
		return p
	}
	// choose returns the candidate with the best training standard score (ties: the earlier one).
	choose := func(train func(string) bool) (int, *pool) {
		best, bestScore := -1, math.Inf(-1)
		var bestPool *pool
		for i, r := range runs {
			p := merge(r, train)
			if s := p.best(p.order(), profiles[0]).score; s > bestScore {
				best, bestScore, bestPool = i, s, p
			}
		}
		return best, bestPool
	}

	if verbose {
		fmt.Fprintf(w, "\nevery candidate, threshold optimised per column: all categories, then each alone\n")
		for _, r := range runs {
			p := merge(r, func(string) bool { return true })
			fmt.Fprintf(w, "%7.1f", p.best(p.order(), profiles[0]).score)
			for _, c := range cats {
				q := r.categories[c]
				if q.windows == 0 {
					fmt.Fprintf(w, " %6d fp", q.best(q.order(), profiles[0]).fp)
					continue
				}
				fmt.Fprintf(w, " %9.1f", q.best(q.order(), profiles[0]).score)
			}
			fmt.Fprintf(w, "  %s\n", nameOf(r.cand))
		}
	}
	fmt.Fprintf(w, "\ncross-validation: leave one category out; of %d candidate settings and every threshold, the best NAB standard score on the other categories is scored on the held-out one\n", len(cands))
	fmt.Fprintf(w, "%-23s %9s %9s %9s %9s %9s %8s %5s  %s\n", "held-out category", "standard", "low_fp", "low_fn", "train", "threshold", "detected", "FP", "chosen")
	var sum [3]float64
	var n int
	var raw, null, perfect [3]float64
	for _, held := range cats {
		train := func(c string) bool { return c != held }
		i, trainPool := choose(train)
		test := merge(runs[i], func(c string) bool { return c == held })
		order := trainPool.order()
		var res [3]result
		var trainStd result
		for k, pr := range profiles {
			t := trainPool.best(order, pr)
			if k == 0 {
				trainStd = t
			}
			res[k] = test.evaluate(t.threshold, pr)
			raw[k] += res[k].raw
			null[k] += -pr.fn * float64(test.scorable)
			perfect[k] += pr.tp * float64(test.windows)
		}
		cells := make([]string, 3)
		for k := range res {
			cells[k] = fmt.Sprintf("%9.1f", res[k].score)
			if math.IsNaN(res[k].score) {
				cells[k] = fmt.Sprintf("%9s", "-")
			}
		}
		if !math.IsNaN(res[0].score) {
			n++
			for k := range res {
				sum[k] += res[k].score
			}
		}
		fmt.Fprintf(w, "%-23s %s %s %s %9.1f %9.4g %4d/%-3d %5d  %s\n", held, cells[0], cells[1], cells[2],
			trainStd.score, trainStd.threshold, res[0].detected, test.windows, res[0].fp, nameOf(runs[i].cand))
	}
	fmt.Fprintf(w, "%-23s %9.1f %9.1f %9.1f   (over the %d held-out categories with windows)\n", "mean", sum[0]/float64(n), sum[1]/float64(n), sum[2]/float64(n), n)
	pooled := func(k int) float64 { return 100 * (raw[k] - null[k]) / (perfect[k] - null[k]) }
	fmt.Fprintf(w, "%-23s %9.1f %9.1f %9.1f   (every held-out category's raw score together, each at its own training threshold)\n", "pooled", pooled(0), pooled(1), pooled(2))

	// In sample: the shipped setting on every category, threshold optimised on them all.
	all := func(string) bool { return true }
	shipped := &scored{cand: candidate{cfg: forecast.DefaultDetectorConfig()}, categories: map[string]*pool{}}
	for _, s := range set {
		if s.labelled {
			p := shipped.categories[s.category]
			if p == nil {
				p = &pool{}
				shipped.categories[s.category] = p
			}
			p.add(s.weights, s.run(shipped.cand.cfg), len(s.spans))
		}
	}
	p := merge(*shipped, all)
	order := p.order()
	var in [3]result
	for k, pr := range profiles {
		in[k] = p.best(order, pr)
	}
	fmt.Fprintf(w, "%-23s %9.1f %9.1f %9.1f %9s %9.4g %4d/%-3d %5d  shipped setting, all categories\n", "in-sample", in[0].score, in[1].score, in[2].score, "", in[0].threshold, in[0].detected, p.windows, in[0].fp)
	i, _ := choose(all)
	fmt.Fprintf(w, "chosen on all categories: %s\n", nameOf(runs[i].cand))
	fmt.Fprintf(w, "NAB cross-validated mean standard=%.1f low_fp=%.1f low_fn=%.1f in-sample standard=%.1f low_fp=%.1f low_fn=%.1f\n",
		sum[0]/float64(n), sum[1]/float64(n), sum[2]/float64(n), in[0].score, in[1].score, in[2].score)
	return nil
}

func nameOf(c candidate) string {
	if c.name == "" {
		return "(shipped)"
	}
	return c.name
}

// tunable is one detector value cross-validation may choose.
type tunable struct {
	name   string
	values []float64
	set    func(*forecast.DetectorConfig, float64)
}
