package main

import (
	"fmt"
	"image/color"
	"maps"
	"os"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// summary is the mean over rounds of one binary on one config.
type summary struct {
	cpu, idle, rss, rate, refused, apiIdle, apiLoad float64
	genFailed                                       uint64
	series, apiWindows                              int
	perRound                                        []string
}

func summarise(results []result, binary, config string) (summary, bool) {
	var s summary
	var cpu, idle, rss, rate, apiIdle, apiLoad []float64
	for _, r := range results {
		if r.Binary != binary || r.Config != config {
			continue
		}
		cpu = append(cpu, r.CPUPerMillion)
		idle = append(idle, r.IdleMsPerSec)
		rss = append(rss, r.RSSMeanMiB)
		rate = append(rate, r.AcceptedPerS)
		apiIdle = append(apiIdle, r.APIIdleP99Ms...)
		apiLoad = append(apiLoad, r.APILoadP99Ms...)
		s.refused += r.Refused
		s.genFailed += r.GenFailed
		s.series = max(s.series, r.Series)
		s.perRound = append(s.perRound, fmt.Sprintf("%.2f", r.CPUPerMillion))
	}
	if len(cpu) == 0 {
		return s, false
	}
	s.cpu, s.idle, s.rss, s.rate = mean(cpu), mean(idle), mean(rss), mean(rate)
	s.apiIdle, s.apiLoad, s.apiWindows = median(apiIdle), median(apiLoad), len(apiIdle)
	return s, true
}

func printTable(o options, results []result) {
	for _, b := range o.binaries {
		title := "results"
		if b.name != "" {
			title = "results of " + b.name + " (" + b.path + ")"
		}
		fmt.Printf("\n%s: CPU-s per 1M accepted spans (mean of %d rounds), idle CPU, RSS under load\n\n", title, o.rounds)
		fmt.Println("| config | CPU-s/1M spans | rounds | ratio to A | idle CPU ms/s | RSS MiB | accepted spans/s | refused | API p99 idle / loaded ms (median of per-window p99s) |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|")
		sums := map[string]summary{}
		for _, c := range o.configs {
			s, ok := summarise(results, b.name, c)
			if !ok {
				continue
			}
			sums[c] = s
			ratio := "-"
			if a, ok := sums["A"]; ok && a.cpu > 0 {
				ratio = fmt.Sprintf("%.2f", s.cpu/a.cpu)
			}
			api := "-"
			if s.apiIdle > 0 {
				api = fmt.Sprintf("%.2f / %.2f (×%.2f, %d windows each)", s.apiIdle, s.apiLoad, s.apiLoad/s.apiIdle, s.apiWindows)
			}
			refused := fmt.Sprintf("%.0f", s.refused)
			if s.genFailed > 0 {
				refused += fmt.Sprintf(" (+%d failed at the sender)", s.genFailed)
			}
			fmt.Printf("| %s | %.2f | %s | %s | %.2f | %.0f | %.0f | %s | %s |\n",
				c, s.cpu, strings.Join(s.perRound, " "), ratio, s.idle, s.rss, s.rate, refused, api)
		}
		fmt.Println()
		for _, p := range [][2]string{{"B", "A"}, {"C", "A"}, {"C", "B"}, {"D", "A"}} {
			x, ok1 := sums[p[0]]
			y, ok2 := sums[p[1]]
			if ok1 && ok2 && y.cpu > 0 {
				fmt.Printf("%s/%s %.2f   ", p[0], p[1], x.cpu/y.cpu)
			}
		}
		if o.rate <= 0 {
			if d, ok := sums["D"]; ok {
				if a, ok := sums["A"]; ok && a.rate > 0 {
					fmt.Printf("throughput D/A %.2f", d.rate/a.rate)
				}
			}
		}
		fmt.Println()
	}
}

// check compares the first binary's D with A against the goals: the median over rounds of D's
// CPU per span divided by A's in the same round (rounds run together share the machine's
// other work, which the ratio cancels), and the median of D's idle CPU.
func check(o options, results []result) bool {
	ratios, idle := roundFigures(results, o.binaries[0].name)
	if len(idle) == 0 {
		fmt.Println("check: config D not run; nothing checked")
		return true
	}
	ok := true
	if len(ratios) > 0 {
		r, verdict := median(ratios), "ok"
		if r > o.maxDOverA {
			verdict, ok = "FAIL", false
		}
		fmt.Printf("check: D/A CPU per span %.2f, the median of the rounds' %s (goal <= %.2f): %s\n", r, figures(ratios), o.maxDOverA, verdict)
	}
	d, verdict := median(idle), "ok"
	if d > o.maxIdleMs {
		verdict, ok = "FAIL", false
	}
	fmt.Printf("check: idle CPU of D %.2f ms/s, the median of the rounds' %s (goal <= %.2f): %s\n", d, figures(idle), o.maxIdleMs, verdict)
	return ok
}

// roundFigures returns, for binary, D's CPU per span over A's in each round that ran both, and
// D's idle CPU in each round that ran it.
func roundFigures(results []result, binary string) (ratios, idle []float64) {
	cpuA := map[int]float64{}
	for _, r := range results {
		if r.Binary == binary && r.Config == "A" {
			cpuA[r.Round] = r.CPUPerMillion
		}
	}
	for _, r := range results {
		if r.Binary != binary || r.Config != "D" {
			continue
		}
		idle = append(idle, r.IdleMsPerSec)
		if a := cpuA[r.Round]; a > 0 {
			ratios = append(ratios, r.CPUPerMillion/a)
		}
	}
	return ratios, idle
}

// figures writes xs with two decimals, space-separated.
func figures(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(s, " ")
}

// printSweep prints the sweep's table. With more than one round, every figure is the median of
// the rounds', and the growth (× of the first number of services) and the ratio to A are taken
// within each round before the median, so that a round the machine slowed weighs on both sides.
func printSweep(o options, sweep []result) {
	fmt.Printf("\n| binary | shape | config | services | CPU-s/1M spans | × of %d services | ÷ A at the same services | RSS MiB (mean / max) | series on the Prometheus exporter | accepted spans/s | refused |\n", o.sweep[0])
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, b := range o.binaries {
		for _, shape := range o.sweepShapes {
			for _, c := range o.sweepConfigs {
				first := sweepRuns(sweep, b.name, shape, c, o.sweep[0])
				for _, n := range o.sweep {
					rs := sweepRuns(sweep, b.name, shape, c, n)
					if len(rs) == 0 {
						continue
					}
					a := sweepRuns(sweep, b.name, shape, "A", n)
					var cpu, growth, overA, rssMean, rssMax, accepted, refused []float64
					rounds := slices.Sorted(maps.Keys(rs))
					for _, round := range rounds {
						r := rs[round]
						cpu = append(cpu, r.CPUPerMillion)
						if f, ok := first[round]; ok && f.CPUPerMillion > 0 {
							growth = append(growth, r.CPUPerMillion/f.CPUPerMillion)
						}
						if x, ok := a[round]; ok && c != "A" && x.CPUPerMillion > 0 {
							overA = append(overA, r.CPUPerMillion/x.CPUPerMillion)
						}
						rssMean, rssMax = append(rssMean, r.RSSMeanMiB), append(rssMax, r.RSSMaxMiB)
						accepted, refused = append(accepted, r.AcceptedPerS), append(refused, r.Refused)
					}
					fmt.Printf("| %s | %s | %s | %d | %s | %s | %s | %.0f / %.0f | %d | %.0f | %.0f |\n",
						b.name, shape, c, n, withRounds(cpu), withRounds(growth), withRounds(overA),
						median(rssMean), median(rssMax), rs[rounds[0]].Series, median(accepted), median(refused))
				}
			}
		}
	}
}

// sweepRuns returns the sweep's runs of one binary, config and number of services under one
// shape, by round.
func sweepRuns(sweep []result, binary, shape, config string, n int) map[int]result {
	out := map[int]result{}
	for _, r := range sweep {
		if r.Binary == binary && r.Shape == shape && r.Config == config && r.Services == n {
			out[r.Round] = r
		}
	}
	return out
}

// withRounds is the median of xs, followed by every value when there is more than one ("-"
// when there is none).
func withRounds(xs []float64) string {
	switch len(xs) {
	case 0:
		return "-"
	case 1:
		return fmt.Sprintf("%.2f", xs[0])
	}
	return fmt.Sprintf("%.2f (%s)", median(xs), figures(xs))
}

// sweepLine is one line of the sweep's plot: one binary on one config under one load shape.
type sweepLine struct {
	name, config string
	cpu, rss     plotter.XYs
}

func sweepLines(o options, sweep []result) []sweepLine {
	var lines []sweepLine
	for _, shape := range o.sweepShapes {
		for _, c := range o.sweepConfigs {
			for _, b := range o.binaries {
				l := sweepLine{name: label(b.name, c) + " " + specs[c].short, config: c}
				if len(o.sweepShapes) > 1 {
					l.name += " (" + shape + ")"
				}
				for _, n := range o.sweep { // the medians of the rounds
					var cpu, rss []float64
					for _, r := range sweepRuns(sweep, b.name, shape, c, n) {
						cpu, rss = append(cpu, r.CPUPerMillion), append(rss, r.RSSMeanMiB)
					}
					if len(cpu) > 0 {
						l.cpu = append(l.cpu, plotter.XY{X: float64(n), Y: median(cpu)})
						l.rss = append(l.rss, plotter.XY{X: float64(n), Y: median(rss)})
					}
				}
				if len(l.cpu) > 0 {
					lines = append(lines, l)
				}
			}
		}
	}
	return lines
}

// plotSweep draws CPU per span and RSS against the number of services, one line per binary.
func plotSweep(o options, sweep []result) error {
	cpuPlot := plot.New()
	cpuPlot.Title.Text = fmt.Sprintf("CPU per span, %s", rateText(o.rate))
	cpuPlot.X.Label.Text = "services"
	cpuPlot.Y.Label.Text = "CPU-s per 1M spans"
	rssPlot := plot.New()
	rssPlot.Title.Text = "resident memory"
	rssPlot.X.Label.Text = "services"
	rssPlot.Y.Label.Text = "RSS (MiB)"
	for _, p := range []*plot.Plot{cpuPlot, rssPlot} {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Min = 0
		p.Add(plotter.NewGrid())
	}
	colors := []color.Color{color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 255}, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 255}, color.RGBA{G: 0x80, A: 255}, color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 255}}
	for i, line := range sweepLines(o, sweep) {
		col := colors[i%len(colors)]
		for _, pp := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{cpuPlot, line.cpu}, {rssPlot, line.rss}} {
			l, s, err := plotter.NewLinePoints(pp.xys)
			if err != nil {
				return err
			}
			l.Color, s.Color = col, col
			if line.config == "A" {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			pp.p.Add(l, s)
			pp.p.Legend.Add(line.name, l, s)
			pp.p.Legend.Top = true
			pp.p.Legend.Left = true
		}
	}
	img := vgimg.New(12*vg.Inch, 4.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	cpuPlot.Draw(tiles.At(dc, 0, 0))
	rssPlot.Draw(tiles.At(dc, 1, 0))
	f, err := os.Create(o.plotPath)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
