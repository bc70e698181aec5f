package main

import (
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vigil-collector/vigil/processor/predictprocessor/forecast"
)

// A perturbation turns one labelled file into a series of another kind, keeping its label
// windows (by time), so that the detector can be scored on shapes of data NAB's four shared
// categories do not hold: heavy-tailed noise, quantised values, a daily and weekly cycle, low-rate
// counts, unlabelled outliers, irregular sampling. Each is seeded by the file's name and a run
// seed, so a run is repeatable and another seed draws other noise. None of them looks at the labels, except that the windows follow the timestamps.
type perturbation struct {
	name, what string
	apply      func(s *series, rng *rand.Rand) *series
}

// spreadOf is the file's robust spread: the median absolute deviation from the median, or the
// standard deviation when more than half the values are equal, or 1 for a constant file.
func spreadOf(x []float64) float64 {
	if len(x) == 0 {
		return 1
	}
	v := slices.Clone(x)
	slices.Sort(v)
	med := v[len(v)/2]
	for i := range v {
		v[i] = math.Abs(x[i] - med)
	}
	slices.Sort(v)
	if mad := v[len(v)/2]; mad > 0 {
		return mad
	}
	var m, m2 float64
	for _, xi := range x {
		m += xi
	}
	m /= float64(len(x))
	for _, xi := range x {
		m2 += (xi - m) * (xi - m)
	}
	if sd := math.Sqrt(m2 / float64(len(x))); sd > 0 {
		return sd
	}
	return 1
}

// levelOf returns the file's minimum and its mean above that minimum (1 for a constant file): the
// counts perturbations make the rate follow (x-lo)/mean.
func levelOf(x []float64) (lo, mean float64) {
	lo = slices.Min(x)
	for _, xi := range x {
		mean += xi - lo
	}
	if mean /= float64(len(x)); mean == 0 {
		mean = 1
	}
	return lo, mean
}

// mapped returns a copy of s with values f(i, x) and the same times.
func mapped(s *series, f func(i int, x float64) float64) *series {
	out := &series{rel: s.rel, category: s.category, t: s.t, x: make([]float64, len(s.x))}
	for i, x := range s.x {
		out.x[i] = f(i, x)
	}
	return out
}

// perturbations are the shapes the robustness check scores the detector under.
var perturbations = []perturbation{
	{name: "none", what: "the shared data as it is", apply: func(s *series, _ *rand.Rand) *series {
		return mapped(s, func(_ int, x float64) float64 { return x })
	}},
	{name: "rescale", what: "x*1e4 - 3e6 (unit and offset change)", apply: func(s *series, _ *rand.Rand) *series {
		return mapped(s, func(_ int, x float64) float64 { return x*1e4 - 3e6 })
	}},
	{name: "negate", what: "-x (rises become drops)", apply: func(s *series, _ *rand.Rand) *series {
		return mapped(s, func(_ int, x float64) float64 { return -x })
	}},
	{name: "quantise", what: "rounded to a step of 2 spreads (few distinct levels)", apply: func(s *series, _ *rand.Rand) *series {
		q := 2 * spreadOf(s.x)
		return mapped(s, func(_ int, x float64) float64 { return q * math.Round(x/q) })
	}},
	{name: "gauss-noise", what: "+ Gaussian noise of 1 spread", apply: func(s *series, rng *rand.Rand) *series {
		sp := spreadOf(s.x)
		return mapped(s, func(_ int, x float64) float64 { return x + sp*rng.NormFloat64() })
	}},
	{name: "heavy-tail", what: "+ Student-t(2) noise of 0.5 spread on every point", apply: func(s *series, rng *rand.Rand) *series {
		sp := spreadOf(s.x)
		return mapped(s, func(_ int, x float64) float64 { return x + 0.5*sp*studentT2(rng) })
	}},
	{name: "noise-bursts", what: "+ 4 bursts of 40 points of Cauchy noise of 1 spread", apply: func(s *series, rng *rand.Rand) *series {
		sp := spreadOf(s.x)
		burst := make([]bool, len(s.x))
		for range 4 {
			at := rng.IntN(max(1, len(s.x)-40))
			for i := at; i < min(at+40, len(s.x)); i++ {
				burst[i] = true
			}
		}
		return mapped(s, func(i int, x float64) float64 {
			if !burst[i] {
				return x
			}
			return x + sp*math.Tan(math.Pi*(rng.Float64()-0.5))
		})
	}},
	{name: "outliers", what: "+ 6 isolated unlabelled outliers of ±4..8 spreads", apply: func(s *series, rng *rand.Rand) *series {
		sp := spreadOf(s.x)
		add := map[int]float64{}
		for range 6 {
			sign := 1.0
			if rng.IntN(2) == 0 {
				sign = -1
			}
			add[rng.IntN(len(s.x))] = sign * sp * (4 + 4*rng.Float64())
		}
		return mapped(s, func(i int, x float64) float64 { return x + add[i] })
	}},
	{name: "cycle", what: "+ daily cycle of 3 spreads and weekly of 1.5", apply: func(s *series, _ *rand.Rand) *series {
		sp := spreadOf(s.x)
		return mapped(s, func(i int, x float64) float64 {
			sec := float64(s.t[i].Unix())
			return x + 3*sp*math.Sin(2*math.Pi*sec/86400) + 1.5*sp*math.Sin(2*math.Pi*sec/(7*86400))
		})
	}},
	{name: "counts", what: "Poisson counts at mean rate 3, rate following the value", apply: func(s *series, rng *rand.Rand) *series {
		lo, mean := levelOf(s.x)
		return mapped(s, func(_ int, x float64) float64 { return float64(poisson(rng, 3*(x-lo)/mean)) })
	}},
	{name: "counts-daily", what: "Poisson counts at mean rate 10 following the value, times a daily cycle (x0.2..1.8) and lognormal(0.3) overdispersion", apply: func(s *series, rng *rand.Rand) *series {
		lo, mean := levelOf(s.x)
		return mapped(s, func(i int, x float64) float64 {
			day := 1 + 0.8*math.Sin(2*math.Pi*float64(s.t[i].Unix())/86400)
			return float64(poisson(rng, 10*(x-lo)/mean*day*math.Exp(0.3*rng.NormFloat64()-0.045)))
		})
	}},
	{name: "mult-cycle", what: "(x - min + 1 spread) times a daily cycle (x0.5..1.5) and x0.6 on weekends (demand-like)", apply: func(s *series, _ *rand.Rand) *series {
		lo, sp := slices.Min(s.x), spreadOf(s.x)
		return mapped(s, func(i int, x float64) float64 {
			t := s.t[i]
			f := 1 + 0.5*math.Sin(2*math.Pi*float64(t.Unix())/86400)
			if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
				f *= 0.6
			}
			return (x - lo + sp) * f
		})
	}},
	{name: "drift", what: "+ a linear drift of 10 spreads over the file (a growing metric)", apply: func(s *series, _ *rand.Rand) *series {
		sp, n := spreadOf(s.x), float64(max(1, len(s.x)-1))
		return mapped(s, func(i int, x float64) float64 { return x + 10*sp*float64(i)/n })
	}},
	{name: "aggregate", what: "the mean of every 4 points, at the first one's time (coarser sampling)", apply: func(s *series, _ *rand.Rand) *series {
		out := &series{rel: s.rel, category: s.category}
		for i := 0; i < len(s.x); i += 4 {
			var sum float64
			k := min(len(s.x), i+4)
			for _, x := range s.x[i:k] {
				sum += x
			}
			out.t, out.x = append(out.t, s.t[i]), append(out.x, sum/float64(k-i))
		}
		return out
	}},
	{name: "irregular", what: "30% of the points dropped at random (irregular sampling)", apply: func(s *series, rng *rand.Rand) *series {
		out := &series{rel: s.rel, category: s.category}
		for i := range s.x {
			if i == 0 || rng.Float64() >= 0.3 {
				out.t, out.x = append(out.t, s.t[i]), append(out.x, s.x[i])
			}
		}
		return out
	}},
	{name: "half-rate", what: "every second point only (twice the interval)", apply: func(s *series, _ *rand.Rand) *series {
		out := &series{rel: s.rel, category: s.category}
		for i := 0; i < len(s.x); i += 2 {
			out.t, out.x = append(out.t, s.t[i]), append(out.x, s.x[i])
		}
		return out
	}},
}

// studentT2 draws from Student's t with 2 degrees of freedom (infinite variance, finite mean).
func studentT2(rng *rand.Rand) float64 {
	u := rng.Float64()
	for u == 0 {
		u = rng.Float64()
	}
	return (2*u - 1) / math.Sqrt(2*u*(1-u))
}

// poisson draws a Poisson count of mean lambda (Knuth's method; lambda here is small).
func poisson(rng *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// perturbed applies p to every labelled file of set; each file's windows follow its timestamps
// (a window edge that was dropped moves inward to the nearest kept row).
func perturbed(set dataSet, p perturbation, runSeed uint64) dataSet {
	var out dataSet
	for _, s := range set {
		if !s.labelled {
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(p.name + "/" + s.rel))
		seed := h.Sum64() ^ runSeed*0x9e3779b97f4a7c15
		q := p.apply(s, rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)))
		q.labelled = true
		for _, sp := range s.spans {
			from, to := s.t[sp[0]], s.t[sp[1]]
			a, _ := slices.BinarySearchFunc(q.t, from, func(t, u time.Time) int { return t.Compare(u) })
			b := a
			for b+1 < len(q.t) && !q.t[b+1].After(to) {
				b++
			}
			if a < len(q.t) && !q.t[a].After(to) {
				q.spans = append(q.spans, [2]int{a, b})
			}
		}
		out = append(out, q)
	}
	window := 0
	for _, q := range out {
		q.weights = weights(len(q.x), q.spans, window)
		window += len(q.spans)
	}
	return out
}

// perturbRow is the outcome of one perturbation, averaged over its seeds.
type perturbRow struct {
	name, what         string
	seeds              int     // seeds averaged (1 for a perturbation without noise)
	score, reopt       float64 // standard score at the shipped threshold, and re-optimised
	detected, fp       float64
	windows, files     int
	scoreMin, scoreMax float64 // over the seeds
}

// deterministic lists the perturbations that draw no noise: one seed is all of them.
var deterministic = map[string]bool{"none": true, "rescale": true, "negate": true, "quantise": true, "cycle": true, "mult-cycle": true, "drift": true, "aggregate": true, "half-rate": true}

// robustness scores cfg on every perturbation of set's labelled files, each noisy one under seeds
// 1..seeds: at cfg's own alert level (one threshold for every file and every kind of data, as
// the processor ships it) and at the threshold NAB's optimiser would pick for that perturbed set.
func robustness(set dataSet, cfg forecast.DetectorConfig, seeds int) []perturbRow {
	rows := make([]perturbRow, len(perturbations))
	for k, p := range perturbations {
		n := seeds
		if deterministic[p.name] {
			n = 1
		}
		rows[k] = scoreRow(p.name, p.what, n, cfg, func(seed uint64) dataSet { return perturbed(set, p, seed) })
	}
	return rows
}

// scoreRow scores cfg on the labelled sets gen draws under seeds 1..seeds, pooling each set's
// files, and averages the outcome over the seeds.
func scoreRow(name, what string, seeds int, cfg forecast.DetectorConfig, gen func(seed uint64) dataSet) perturbRow {
	r := perturbRow{name: name, what: what, seeds: max(1, seeds), scoreMin: math.Inf(1), scoreMax: math.Inf(-1)}
	for seed := range r.seeds {
		q := gen(uint64(seed + 1))
		var ps []*pool
		for _, s := range q {
			ps = append(ps, newPool(s.weights, s.run(cfg), len(s.spans)))
		}
		all := merge(ps...)
		fixed := all.evaluate(cfg.AlertLevel, profiles[0])
		r.score += fixed.score / float64(r.seeds)
		r.detected += float64(fixed.detected) / float64(r.seeds)
		r.fp += float64(fixed.fp) / float64(r.seeds)
		r.reopt += all.best(profiles[0]).score / float64(r.seeds)
		r.scoreMin, r.scoreMax = min(r.scoreMin, fixed.score), max(r.scoreMax, fixed.score)
		r.windows, r.files = all.windows, len(q)
	}
	return r
}

// printRobustness prints the perturbation table and its summary line.
func printRobustness(rows []perturbRow, cfg forecast.DetectorConfig, w io.Writer) {
	printRows(w, "robustness: the shipped setting on perturbed copies of the labelled files (NAB standard, all categories pooled; noisy rows are means over seeds)",
		"perturbation", "NAB robustness", "perturbations", rows, cfg)
}

// printRows prints a table of scored rows under title, then the summary line
// "<summary> mean standard=M worst=W at the shipped threshold over N <unit>".
func printRows(w io.Writer, title, first, summary, unit string, rows []perturbRow, cfg forecast.DetectorConfig) {
	fmt.Fprintf(w, "\n%s\n", title)
	fmt.Fprintf(w, "%-13s %9s %11s %9s %7s %9s %5s  %s\n", first, "at "+fmt.Sprintf("%g", cfg.AlertLevel), "min..max", "detected", "FP", "re-opt", "seeds", "what")
	var sum, worst float64 = 0, math.Inf(1)
	for _, r := range rows {
		fmt.Fprintf(w, "%-13s %9.1f %5.1f..%-5.1f %5.1f/%-3d %7.1f %9.1f %5d  %s\n", r.name, r.score, r.scoreMin, r.scoreMax, r.detected, r.windows, r.fp, r.reopt, r.seeds, r.what)
		sum += r.score
		worst = min(worst, r.score)
	}
	fmt.Fprintf(w, "%s mean standard=%.1f worst=%.1f at the shipped threshold over %d %s\n", summary, sum/float64(len(rows)), worst, len(rows), unit)
}
