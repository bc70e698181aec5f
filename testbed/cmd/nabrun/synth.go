package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vigil-collector/vigil/processor/predictprocessor/forecast"
)

// A synthetic kind generates labelled series of a real-world kind that testbed/nab lacks, longer
// than its files (NAB's other categories hold series of 1,600 to 22,700 points): demand with a
// daily and weekly pattern and holidays, tweet-like counts with unlabelled bursts, a machine
// temperature that fails slowly, hourly ad-exchange rates, spiky CPU, request latency and an
// hourly ambient temperature. The generators were written from what such series look like, not
// fitted to any data, and each anomaly gets a NAB window (10% of the file shared among its
// anomalies, centred on the anomaly's start). It is a proxy for unseen categories, like the
// perturbations, and is scored the same way.
type synthKind struct {
	name, what string
	step       time.Duration
	n          int
	gen        func(g *synthGen)
}

// synthGen builds one series: x[i] for t0 + i*step, and the anomalies' start rows.
type synthGen struct {
	rng       *rand.Rand
	step      time.Duration
	t0        time.Time
	x         []float64
	anomalies []int
}

// hour returns the hour of day (fractional) and the weekday of row i.
func (g *synthGen) hour(i int) (float64, time.Weekday) {
	t := g.t0.Add(time.Duration(i) * g.step)
	return float64(t.Hour()) + float64(t.Minute())/60, t.Weekday()
}

// rows converts a duration to a number of rows (at least 1).
func (g *synthGen) rows(d time.Duration) int { return max(1, int(d/g.step)) }

// places returns k anomaly start rows, after the first 20% of the file and at least n/(2k) apart.
func (g *synthGen) places(k int) []int {
	n := len(g.x)
	lo, gap := n/5, n/(2*k+2)
	for {
		out := make([]int, k)
		for j := range out {
			out[j] = lo + g.rng.IntN(n-lo-gap)
		}
		ok := true
		for a := range out {
			for b := range a {
				ok = ok && abs(out[a]-out[b]) >= gap
			}
		}
		if ok {
			g.anomalies = append(g.anomalies, out...)
			return out
		}
	}
}

func abs(v int) int { return max(v, -v) }

// bump returns the shape of a burst at offset j rows from its start: a rise over rise rows, then
// an exponential decay with decay rows' time constant (0 before the start).
func bump(j, rise, decay int) float64 {
	switch {
	case j < 0:
		return 0
	case j < rise:
		return float64(j+1) / float64(rise)
	default:
		return math.Exp(-float64(j-rise) / float64(decay))
	}
}

var synthKinds = []synthKind{
	{name: "demand", what: "30-min taxi-like demand, daily and weekly pattern, x(1+4% noise); 2 holidays (a weekday with the weekend's pattern), a 6-h event +40%, a storm day x0.4", step: 30 * time.Minute, n: 10000, gen: func(g *synthGen) {
		shape := func(i int) float64 {
			h, wd := g.hour(i)
			if wd == time.Saturday || wd == time.Sunday {
				return 0.8 + 0.45*math.Sin(2*math.Pi*(h-14)/24)
			}
			return 1 + 0.55*math.Sin(2*math.Pi*(h-11)/24) + 0.35*math.Exp(-(h-8.5)*(h-8.5)/1.5)
		}
		at := g.places(4)
		day := g.rows(24 * time.Hour)
		for k := range 2 { // a holiday starts at midnight on a weekday
			for h, wd := g.hour(at[k]); h != 0 || wd == time.Saturday || wd == time.Sunday; h, wd = g.hour(at[k]) {
				at[k]++
			}
			g.anomalies[k] = at[k]
		}
		for i := range g.x {
			f := shape(i)
			for k, a := range at {
				if i < a || i >= a+day {
					continue
				}
				switch k {
				case 0, 1: // a holiday: the weekend's shape (a Saturday's time of day)
					h, _ := g.hour(i)
					f = 0.8 + 0.45*math.Sin(2*math.Pi*(h-14)/24)
				case 2:
					if i < a+g.rows(6*time.Hour) {
						f *= 1.4
					}
				case 3:
					f *= 0.4
				}
			}
			season := 1 + 0.1*math.Sin(2*math.Pi*float64(i)/float64(g.rows(365*24*time.Hour)))
			g.x[i] = math.Round(15000 * f * season * (1 + 0.04*g.rng.NormFloat64()))
		}
	}},
	{name: "tweets", what: "5-min counts, rate 5..40 with a daily cycle x0.3..1.7 and lognormal(0.3) overdispersion, an unlabelled burst x2..4 every 2 days; 3 bursts x8..15 over 2-3 h", step: 5 * time.Minute, n: 15000, gen: func(g *synthGen) {
		base := 5 + 35*g.rng.Float64()
		boost := make([]float64, len(g.x))
		add := func(a int, size float64, rise, decay int) {
			for i := a; i < min(len(g.x), a+rise+6*decay); i++ {
				boost[i] += size * bump(i-a, rise, decay)
			}
		}
		for i := range g.x {
			if g.rng.Float64() < 1/float64(g.rows(48*time.Hour)) {
				add(i, 1+2*g.rng.Float64(), 2, g.rows(40*time.Minute))
			}
		}
		for _, a := range g.places(3) {
			add(a, 7+7*g.rng.Float64(), 3, g.rows(150*time.Minute))
		}
		walk := 0.0
		for i := range g.x {
			h, _ := g.hour(i)
			walk = 0.999*walk + 0.01*g.rng.NormFloat64()
			rate := base * (1 + 0.7*math.Sin(2*math.Pi*(h-15)/24)) * math.Exp(walk+0.3*g.rng.NormFloat64()-0.045) * (1 + boost[i])
			g.x[i] = float64(poisson(g.rng, rate))
		}
	}},
	{name: "machine", what: "5-min temperature, AR(1) noise round a wandering level; 2 slow failures (-15 over 6 h, 12 h low, recovery) and a sudden drop", step: 5 * time.Minute, n: 20000, gen: func(g *synthGen) {
		at := g.places(3)
		ar, level := 0.0, 0.0
		for i := range g.x {
			ar = 0.95*ar + 0.6*g.rng.NormFloat64()
			level = 0.9995*level + 0.05*g.rng.NormFloat64()
			dev := 0.0
			for k, a := range at {
				j := i - a
				if j < 0 {
					continue
				}
				if k < 2 {
					fall, low := g.rows(6*time.Hour), g.rows(12*time.Hour)
					switch {
					case j < fall:
						dev = -15 * float64(j) / float64(fall)
					case j < fall+low:
						dev = -15
					case j < 2*fall+low:
						dev = -15 * float64(2*fall+low-j) / float64(fall)
					}
				} else if j < g.rows(3*time.Hour) {
					dev = -40
				}
			}
			g.x[i] = 85 + 3*level + ar + dev
		}
	}},
	{name: "adexchange", what: "hourly cost per click, lognormal(0.25) with a weak daily cycle; a day at x1.8, a day at x0.4 and a 3-h spike x3", step: time.Hour, n: 1600, gen: func(g *synthGen) {
		at := g.places(3)
		for i := range g.x {
			h, _ := g.hour(i)
			f := 1.0
			for k, a := range at {
				j := i - a
				switch {
				case j < 0:
				case k == 0 && j < 24:
					f = 1.8
				case k == 1 && j < 24:
					f = 0.4
				case k == 2 && j < 3:
					f = 3
				}
			}
			g.x[i] = 0.5 * f * math.Exp(0.1*math.Sin(2*math.Pi*h/24)+0.25*g.rng.NormFloat64())
		}
	}},
	{name: "cpu", what: "5-min CPU %, 3..8 with unlabelled 1-3-point spikes to 20..60 (2% of points); a 12-h rise to 45 and a lasting rise to 30", step: 5 * time.Minute, n: 4032, gen: func(g *synthGen) {
		at := g.places(2)
		spike := 0
		var height float64
		for i := range g.x {
			v := 5 + 1.5*g.rng.NormFloat64()
			if spike == 0 && g.rng.Float64() < 0.02 {
				spike, height = 1+g.rng.IntN(3), 20+40*g.rng.Float64()
			}
			if spike > 0 {
				v, spike = height, spike-1
			}
			if j := i - at[0]; j >= 0 && j < g.rows(12*time.Hour) {
				v += 40
			}
			if i >= at[1] {
				v += 25
			}
			g.x[i] = max(0, v)
		}
	}},
	{name: "latency", what: "5-min request latency, lognormal(0.05) round 45 ms with unlabelled spikes x1.3 (1% of points); 3 bursts of x1.6 for 1-2 h", step: 5 * time.Minute, n: 4032, gen: func(g *synthGen) {
		at := g.places(3)
		for i := range g.x {
			f := 1.0
			if g.rng.Float64() < 0.01 {
				f = 1.3
			}
			for _, a := range at {
				if j := i - a; j >= 0 && j < g.rows(time.Hour)+a%g.rows(time.Hour) {
					f = 1.6
				}
			}
			g.x[i] = 45 * f * math.Exp(0.05*g.rng.NormFloat64())
		}
	}},
	{name: "ambient", what: "hourly temperature, yearly and daily cycles and AR(1) weather; 2 days +6 (a failed cooler) and a 12-h drop of 8", step: time.Hour, n: 7000, gen: func(g *synthGen) {
		at := g.places(3)
		ar := 0.0
		for i := range g.x {
			h, _ := g.hour(i)
			ar = 0.97*ar + 0.3*g.rng.NormFloat64()
			v := 71 + 3*math.Sin(2*math.Pi*float64(i)/(365*24)) + 1.5*math.Sin(2*math.Pi*(h-9)/24) + ar
			for k, a := range at {
				j := i - a
				switch {
				case j < 0:
				case k < 2 && j < 48:
					v += 6
				case k == 2 && j < 12:
					v -= 8
				}
			}
			g.x[i] = v
		}
	}},
}

// synthFiles is how many series of each kind are generated (each with its own seed).
const synthFiles = 4

// synthSet generates the series of kind k under run seed seed, labelled as NAB would label them.
func synthSet(k synthKind, seed uint64) dataSet {
	var out dataSet
	window := 0
	for f := range synthFiles {
		rng := rand.New(rand.NewPCG(seed, uint64(f)*0x9e3779b97f4a7c15+uint64(len(k.name))))
		// Start on a random day of 2015 at midnight, as NAB's files start on whole hours.
		t0 := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(300))
		g := &synthGen{rng: rng, step: k.step, t0: t0, x: make([]float64, k.n)}
		k.gen(g)
		s := &series{rel: fmt.Sprintf("synthetic/%s_%d.csv", k.name, f), category: "synthetic", x: g.x, labelled: true}
		s.t = make([]time.Time, k.n)
		for i := range s.t {
			s.t[i] = t0.Add(time.Duration(i) * k.step)
		}
		half := max(1, k.n/10/len(g.anomalies)/2)
		for _, a := range slices.Sorted(slices.Values(g.anomalies)) {
			s.spans = append(s.spans, [2]int{max(0, a-half), min(k.n-1, a+half)})
		}
		s.weights = weights(k.n, s.spans, window)
		window += len(s.spans)
		out = append(out, s)
	}
	return out
}

// synthetic scores cfg on every synthetic kind, each under seeds 1..seeds, like robustness.
func synthetic(cfg forecast.DetectorConfig, seeds int) []perturbRow {
	rows := make([]perturbRow, len(synthKinds))
	for k, kind := range synthKinds {
		rows[k] = scoreRow(kind.name, kind.what, seeds, cfg, func(seed uint64) dataSet { return synthSet(kind, seed) })
	}
	return rows
}

// printSynthetic prints the synthetic table and its summary line.
func printSynthetic(rows []perturbRow, cfg forecast.DetectorConfig, w io.Writer) {
	printRows(w, fmt.Sprintf("synthetic real-world kinds: the shipped setting on %d generated series of each kind (NAB standard, a kind's files pooled; means over seeds)", synthFiles),
		"kind", "NAB synthetic", "kinds", rows, cfg)
}
