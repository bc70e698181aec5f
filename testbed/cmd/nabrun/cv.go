package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/vigil-collector/vigil/processor/predictprocessor/forecast"
)

// candidate is one setting of the detector's tunable values.
type candidate struct {
	name string
	cfg  forecast.DetectorConfig
}

// tunable is one detector value cross-validation may choose.
type tunable struct {
	name   string
	values []float64
	set    func(*forecast.DetectorConfig, float64)
}

// candidates is the grid cross-validation chooses from: every combination of the tunables'
// values, each applied to the shipped configuration. The alert threshold is tuned too, by NAB's
// own threshold search on the training categories.
func candidates(base forecast.DetectorConfig, tunables []tunable) []candidate {
	out := []candidate{{cfg: base}}
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

// byCategory runs cfg over every labelled file and pools the scored rows per category.
func byCategory(set dataSet, cats []string, cfg forecast.DetectorConfig) []*pool {
	return categoryPools(set, cats, byFile(set, cfg))
}

// byFile runs cfg over every labelled file and returns each file's pool, in the set's order.
func byFile(set dataSet, cfg forecast.DetectorConfig) []*pool {
	var out []*pool
	for _, s := range set {
		if s.labelled {
			out = append(out, newPool(s.weights, s.run(cfg), len(s.spans)))
		}
	}
	return out
}

// categoryPools merges the labelled files' pools (byFile's order) per category.
func categoryPools(set dataSet, cats []string, pools []*pool) []*pool {
	files := make(map[string][]*pool, len(cats))
	k := 0
	for _, s := range set {
		if s.labelled {
			files[s.category] = append(files[s.category], pools[k])
			k++
		}
	}
	out := make([]*pool, len(cats))
	for i, c := range cats {
		out[i] = merge(files[c]...)
	}
	return out
}

// cvRow is one held-out category's outcome.
type cvRow struct {
	category  string
	chosen    string
	train     result    // standard profile on the training categories, at their best threshold
	test      [3]result // each profile on the held-out category, at the training threshold
	reopt     result    // standard profile on the held-out category, threshold re-optimised there
	test0     *pool
	hasWindow bool
}

// crossValidate runs leave-one-category-out cross-validation: for each labelled category, the
// candidate and threshold with the best NAB standard score on the other categories are chosen
// and then scored, at that threshold, on the held-out one. It prints the table on w.
func crossValidate(set dataSet, shippedCfg forecast.DetectorConfig, cands []candidate, verbose bool, w io.Writer) error {
	cats := labelledCategories(set)
	if len(cats) < 2 {
		return fmt.Errorf("cross-validation needs at least two labelled categories, have %d", len(cats))
	}
	runs, fileRuns := runCandidates(set, cats, cands)
	if verbose {
		printEveryCandidate(w, runs, cands)
	}
	var rows []cvRow
	for k, held := range cats {
		i, trainPool := choose(runs, func(j int) bool { return j != k })
		test := runs[i][k]
		row := cvRow{category: held, chosen: nameOf(cands[i]), test0: test, hasWindow: test.windows > 0}
		for j, pr := range profiles {
			t := trainPool.best(pr)
			if j == 0 {
				row.train = t
			}
			row.test[j] = test.evaluate(t.threshold, pr)
		}
		row.reopt = test.best(profiles[0])
		rows = append(rows, row)
	}
	mean := printHeldOut(w, rows, len(cands))

	// In sample: the shipped setting on every category, threshold optimised on them all.
	shipped := pick(byCategory(set, cats, shippedCfg), func(int) bool { return true })
	var in [3]result
	for j, pr := range profiles {
		in[j] = shipped.best(pr)
	}
	fmt.Fprintf(w, "%-23s %8.1f %8.1f %8.1f %9s %8s %9.4g %4d/%-4d %5d  shipped setting, all categories\n", "in-sample", in[0].score, in[1].score, in[2].score, "", "", in[0].threshold, in[0].detected, shipped.windows, in[0].fp)
	i, _ := choose(runs, func(int) bool { return true })
	fmt.Fprintf(w, "chosen on all categories: %s\n", nameOf(cands[i]))
	lofo := leaveOneFileOut(set, cats, fileRuns, w)
	fmt.Fprintf(w, "NAB cross-validated mean standard=%.1f low_fp=%.1f low_fn=%.1f; in-sample standard=%.1f low_fp=%.1f low_fn=%.1f; leave-one-file-out mean standard=%.1f\n",
		mean[0], mean[1], mean[2], in[0].score, in[1].score, in[2].score, lofo)
	return nil
}

// labelledCategories returns the categories of set that hold labelled files, in order.
func labelledCategories(set dataSet) []string {
	var cats []string
	for _, s := range set {
		if s.labelled && (len(cats) == 0 || cats[len(cats)-1] != s.category) {
			cats = append(cats, s.category)
		}
	}
	return cats
}

// runCandidates returns runs[i][k], candidate i's pool of category k, and fileRuns[i][f], its
// pool of labelled file f. Candidates run on a bounded set of workers.
func runCandidates(set dataSet, cats []string, cands []candidate) (runs, fileRuns [][]*pool) {
	runs = make([][]*pool, len(cands))
	fileRuns = make([][]*pool, len(cands))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, min(runtime.GOMAXPROCS(0), len(cands))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fileRuns[i] = byFile(set, cands[i].cfg)
				runs[i] = categoryPools(set, cats, fileRuns[i])
			}
		}()
	}
	for i := range cands {
		next <- i
	}
	close(next)
	wg.Wait()
	return runs, fileRuns
}

// pick merges the pools of the categories keep keeps.
func pick(r []*pool, keep func(int) bool) *pool {
	var ps []*pool
	for k, p := range r {
		if keep(k) {
			ps = append(ps, p)
		}
	}
	return merge(ps...)
}

// choose returns the candidate with the best standard score on the kept categories (ties: the
// earlier one) and its pool there.
func choose(runs [][]*pool, keep func(int) bool) (int, *pool) {
	best, bestScore := -1, math.Inf(-1)
	var bestPool *pool
	for i, r := range runs {
		p := pick(r, keep)
		if s := p.best(profiles[0]).score; s > bestScore {
			best, bestScore, bestPool = i, s, p
		}
	}
	return best, bestPool
}

// printEveryCandidate prints every candidate's score, threshold optimised per column.
func printEveryCandidate(w io.Writer, runs [][]*pool, cands []candidate) {
	fmt.Fprintf(w, "\nevery candidate, threshold optimised per column: all categories, then each alone\n")
	for i, r := range runs {
		fmt.Fprintf(w, "%7.1f", pick(r, func(int) bool { return true }).best(profiles[0]).score)
		for _, q := range r {
			if q.windows == 0 {
				fmt.Fprintf(w, " %6d fp", q.best(profiles[0]).fp)
				continue
			}
			fmt.Fprintf(w, " %9.1f", q.best(profiles[0]).score)
		}
		fmt.Fprintf(w, "  %s\n", nameOf(cands[i]))
	}
}

// printHeldOut prints the held-out table with its mean and pooled lines and returns the means
// (standard, low_fp, low_fn, re-optimised).
func printHeldOut(w io.Writer, rows []cvRow, nCands int) [4]float64 {
	fmt.Fprintf(w, "\ncross-validation, leave one category out: on the other categories, the best of %d settings and thresholds (NAB standard); scored on the held-out one at that threshold\n", nCands)
	fmt.Fprintf(w, "%-23s %8s %8s %8s %9s %8s %9s %9s %5s  %s\n", "held-out category", "standard", "low_fp", "low_fn", "re-opt", "train", "threshold", "detected", "FP", "chosen setting")
	var sum [4]float64
	var raw, null, perfect [3]float64
	n := 0
	for _, r := range rows {
		fmt.Fprintf(w, "%-23s %s %s %s %s %8.1f %9.4g %4d/%-4d %5d  %s\n", r.category,
			cvCell(r.test[0].score), cvCell(r.test[1].score), cvCell(r.test[2].score), " "+cvCell(r.reopt.score),
			r.train.score, r.train.threshold, r.test[0].detected, r.test0.windows, r.test[0].fp, r.chosen)
		for j, pr := range profiles {
			raw[j] += r.test[j].raw
			null[j] += -pr.fn * float64(r.test0.scorable)
			perfect[j] += pr.tp * float64(r.test0.windows)
		}
		if r.hasWindow {
			n++
			for j := range 3 {
				sum[j] += r.test[j].score
			}
			sum[3] += r.reopt.score
		}
	}
	var mean [4]float64
	for j := range mean {
		mean[j] = sum[j] / float64(n)
	}
	fmt.Fprintf(w, "%-23s %8.1f %8.1f %8.1f  %8.1f   over the %d held-out categories with windows\n", "mean", mean[0], mean[1], mean[2], mean[3], n)
	pooled := func(j int) float64 { return 100 * (raw[j] - null[j]) / (perfect[j] - null[j]) }
	fmt.Fprintf(w, "%-23s %8.1f %8.1f %8.1f             every held-out category's raw score together, each at its own training threshold\n", "pooled", pooled(0), pooled(1), pooled(2))
	return mean
}

// cvCell formats a score, "-" when there is none.
func cvCell(v float64) string {
	if math.IsNaN(v) {
		return fmt.Sprintf("%8s", "-")
	}
	return fmt.Sprintf("%8.1f", v)
}

func nameOf(c candidate) string {
	if c.name == "" {
		return "(shipped)"
	}
	return c.name
}

// leaveOneFileOut runs leave-one-file-out cross-validation inside each category: for every
// labelled file, the setting and threshold with the best standard score on the other files of its
// category are chosen and scored on that file. It prints each category's pooled held-out score and
// returns their mean over the categories with windows.
func leaveOneFileOut(set dataSet, cats []string, fileRuns [][]*pool, w io.Writer) float64 {
	catOf := make([]int, 0, len(fileRuns[0]))
	for _, s := range set {
		if s.labelled {
			catOf = append(catOf, slices.Index(cats, s.category))
		}
	}
	type tally struct {
		raw, null, perfect float64
		fp, detected, wins int
	}
	per := make([]tally, len(cats))
	pr := profiles[0]
	for f := range catOf {
		// The setting (and threshold) best on the category's other files; ties: the earlier one.
		bestScore, bestT, bestI := math.Inf(-1), noDetection, 0
		for i, r := range fileRuns {
			var ps []*pool
			for g, p := range r {
				if g != f && catOf[g] == catOf[f] {
					ps = append(ps, p)
				}
			}
			if len(ps) == 0 {
				break // the only file of its category: no training data, nothing flagged
			}
			if b := merge(ps...).best(pr); b.raw > bestScore {
				bestScore, bestT, bestI = b.raw, b.threshold, i
			}
		}
		held := fileRuns[bestI][f]
		test := held.evaluate(bestT, pr)
		t := &per[catOf[f]]
		t.raw += test.raw
		t.null += -pr.fn * float64(held.scorable)
		t.perfect += pr.tp * float64(held.windows)
		t.fp += test.fp
		t.detected += test.detected
		t.wins += held.windows
	}
	fmt.Fprintf(w, "\nleave one file out within each category: on the category's other files, the best setting and threshold (NAB standard); scored on the held-out file\n")
	fmt.Fprintf(w, "%-23s %8s %9s %5s\n", "category", "standard", "detected", "FP")
	var sum float64
	n := 0
	for k, c := range cats {
		t := per[k]
		if t.perfect == t.null {
			fmt.Fprintf(w, "%-23s %8s %4d/%-4d %5d\n", c, "-", t.detected, t.wins, t.fp)
			continue
		}
		sc := 100 * (t.raw - t.null) / (t.perfect - t.null)
		fmt.Fprintf(w, "%-23s %8.1f %4d/%-4d %5d\n", c, sc, t.detected, t.wins, t.fp)
		sum += sc
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	fmt.Fprintf(w, "%-23s %8.1f\n", "mean", sum/float64(n))
	return sum / float64(n)
}
