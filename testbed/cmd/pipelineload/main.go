// Command pipelineload measures what Vigil's pipelines cost on the built otelcol-vigil binary,
// side by side with stock pipelines, in one run:
//
//	A  pass-through (otlp -> batch -> debug)
//	B  stock RED metrics (A + span_metrics -> prometheus)
//	C  Vigil health (otlp -> healthscore + breaker -> batch -> debug; metrics -> prometheus)
//	D  the default config (otelcol-config.yaml)
//
// Each run starts the binary on one config, measures its CPU at idle (no telemetry at all, from
// /proc/PID/task/*/schedstat) and the breaker API's latency at a fixed request rate, then drives
// it with its own OTLP load generator (batches shaped as the OTel SDK's batch span processor
// sends them, one resource per service, any number of services, at a fixed span rate or
// unthrottled) and reads its CPU and RSS from /proc and the accepted and refused span counters
// from its own telemetry; then, the load still running, the API's latency again (after the CPU
// window, so the API's own cost is not counted per span). Configs alternate within a round, and the
// order reverses every round, so a machine whose load drifts treats every config alike.
//
// With --sweep, one config also runs against growing numbers of services, and a PNG plot of
// CPU per span and RSS against the number of services is written (gonum.org/v1/plot).
//
//	go run . --binary ../../../_build/otelcol-vigil                       # the table
//	go run . --configs A,D --rounds 2 --check                              # the short form of make test
//	go run . --configs C --sweep 10,1000,10000 --plot pipelineload.png     # cardinality
//	go run . --binary after=_build/otelcol-vigil,before=/tmp/old/otelcol-vigil   # two binaries side by side
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

type options struct {
	binaries      []namedBinary
	configs       []string
	services      int
	shape         string
	rate          float64
	rounds        int
	settle        time.Duration
	idle          time.Duration
	apiWindow     time.Duration
	apiPairs      int
	apiRate       int
	warmup        time.Duration
	window        time.Duration
	workers       int
	conns         int
	scrapeEvery   time.Duration
	sweep         []int
	sweepConfigs  []string
	sweepWarmup   time.Duration
	sweepRounds   int
	sweepShapes   []string
	profileDir    string
	profileCPU    time.Duration
	overlay       node
	keepDir       string
	plotPath      string
	jsonPath      string
	defaultConfig string
	check         bool
	together      bool
	maxDOverA     float64
	maxIdleMs     float64
}

// namedBinary is a binary under test and the default config its D runs on.
type namedBinary struct{ name, path, defaultConfig string }

func main() {
	o, err := parseOptions()
	if err != nil {
		log.Fatal(err)
	}
	ok, err := run(o)
	if err != nil {
		log.Fatal(err)
	}
	if !ok {
		os.Exit(1)
	}
}

// listFlags are the flags given as text that parseOptions turns into options.
type listFlags struct {
	binaries, configs, sweep, sweepConfigs, sweepShapes, overlay *string
}

// defineFlags defines every flag on the command line, the plain ones straight into o.
func defineFlags(o *options) listFlags {
	var l listFlags
	l.binaries = flag.String("binary", "_build/otelcol-vigil", "collector binary, or name=path,name=path to compare binaries side by side (ratios are within a binary)")
	l.configs = flag.String("configs", "A,B,C,D", "configs to compare (A pass-through, B span_metrics, C Vigil health, D default)")
	flag.IntVar(&o.services, "services", 4, "services sending spans")
	flag.StringVar(&o.shape, "shape", shapeSDK, "what a request carries: sdk (one service's SDK batch) or agent (the batches of many services, >= 512 spans, as an agent collector forwards them)")
	flag.Float64Var(&o.rate, "rate", 10000, "spans per second; 0 sends unthrottled")
	flag.IntVar(&o.rounds, "rounds", 3, "alternating rounds")
	flag.DurationVar(&o.settle, "settle", 3*time.Second, "wait after the collector is ready")
	flag.DurationVar(&o.idle, "idle", 10*time.Second, "idle CPU window (no telemetry at all)")
	flag.DurationVar(&o.apiWindow, "api-window", 2*time.Second, "one breaker API latency window (idle or loaded)")
	flag.IntVar(&o.apiPairs, "api-windows", 8, "pairs of idle and loaded breaker API windows, alternating")
	flag.IntVar(&o.apiRate, "api-rate", 200, "breaker API requests per second (0: none)")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "load before measuring")
	flag.DurationVar(&o.window, "window", 20*time.Second, "measured load window")
	flag.IntVar(&o.workers, "workers", 8, "concurrent export requests")
	flag.IntVar(&o.conns, "conns", 4, "gRPC connections")
	flag.DurationVar(&o.scrapeEvery, "scrape-interval", 10*time.Second, "how often the Prometheus exporter is scraped")
	l.sweep = flag.String("sweep", "", "numbers of services for the cardinality sweep, e.g. 10,1000,10000")
	l.sweepConfigs = flag.String("sweep-config", "A,C", "configs of the cardinality sweep (A gives the pass-through's own growth)")
	flag.DurationVar(&o.sweepWarmup, "sweep-warmup", 20*time.Second, "load before measuring in the sweep (every service seen and scored)")
	flag.IntVar(&o.sweepRounds, "sweep-rounds", 1, "rounds of the sweep; with more than one, the table gives the medians of the rounds' ratios, each taken within one round")
	l.sweepShapes = flag.String("sweep-shape", shapeSDK, "load shapes of the sweep: sdk, agent or sdk,agent")
	flag.StringVar(&o.profileDir, "profile", "", "write a CPU and a heap profile of every run here, taken after its load window (needs a binary built with the pprof extension)")
	l.overlay = flag.String("overlay", "", "a YAML file laid over every config (maps merge, other values replace), e.g. to try a setting on every config")
	flag.StringVar(&o.keepDir, "keep", "", "write every run's config and collector log into this folder and keep them (default: a temporary folder, removed)")
	flag.DurationVar(&o.profileCPU, "profile-cpu", 10*time.Second, "how long the CPU profile of --profile runs")
	flag.StringVar(&o.plotPath, "plot", "pipelineload.png", "PNG plot of the sweep")
	flag.StringVar(&o.jsonPath, "json", "", "write every measurement as JSON here")
	flag.StringVar(&o.defaultConfig, "default-config", "", "the default config D runs on, or name=path,... one per named binary (default: otelcol-config.yaml beside the binary's _build)")
	flag.BoolVar(&o.check, "check", false, "exit 1 when D/A (the median of the rounds' ratios) or D's idle CPU (the median of the rounds) is past --max-d-over-a / --max-idle-ms")
	flag.BoolVar(&o.together, "together", false, "run a round's configs (and a sweep shape's runs) at the same time, each with its own generator, so that the machine's other work weighs on them alike (the breaker API windows then see the others' load)")
	flag.Float64Var(&o.maxDOverA, "max-d-over-a", 1.25, "the D/A CPU-per-span goal for --check")
	flag.Float64Var(&o.maxIdleMs, "max-idle-ms", 2, "the idle CPU goal of D for --check, in ms per second")
	return l
}

// parseOptions parses the command line into options and checks them.
func parseOptions() (options, error) {
	var o options
	l := defineFlags(&o)
	flag.Parse()

	if *l.overlay != "" {
		b, err := os.ReadFile(*l.overlay)
		if err == nil {
			err = yaml.Unmarshal(b, &o.overlay)
		}
		if err != nil {
			return o, fmt.Errorf("--overlay: %w", err)
		}
	}
	var err error
	if o.binaries, err = parseBinaries(*l.binaries); err != nil {
		return o, err
	}
	if o.configs, err = parseConfigs(*l.configs, "unknown config %q (A, B, C, D)"); err != nil {
		return o, err
	}
	if *l.sweep != "" {
		if o.sweepRounds < 1 {
			return o, fmt.Errorf("--sweep-rounds must be at least 1, got %d", o.sweepRounds)
		}
		if o.sweep, err = parseSweep(*l.sweep); err != nil {
			return o, err
		}
		o.sweepShapes = strings.Split(*l.sweepShapes, ",")
		if o.sweepConfigs, err = parseConfigs(*l.sweepConfigs, "unknown --sweep-config %q"); err != nil {
			return o, err
		}
	}
	if o.services < 3 {
		return o, errors.New("--services must be at least 3 (every service calls the next two)")
	}
	setDefaultConfigs(o.binaries, o.defaultConfig)
	return o, nil
}

// parseBinaries parses --binary: a path, or name=path,name=path; every binary must exist.
func parseBinaries(list string) ([]namedBinary, error) {
	var bins []namedBinary
	for _, b := range strings.Split(list, ",") {
		name, path, ok := strings.Cut(b, "=")
		if !ok {
			name, path = "", b
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("binary %s: %w (run `make build`)", path, err)
		}
		bins = append(bins, namedBinary{name: name, path: abs})
	}
	return bins, nil
}

// parseConfigs parses a comma-separated list of config names; unknown is the error's format for a
// name that is not one.
func parseConfigs(list, unknown string) ([]string, error) {
	var configs []string
	for _, c := range strings.Split(list, ",") {
		if _, ok := specs[c]; !ok {
			return nil, fmt.Errorf(unknown, c)
		}
		configs = append(configs, c)
	}
	return configs, nil
}

// parseSweep parses --sweep: numbers of services, each at least 3.
func parseSweep(list string) ([]int, error) {
	var sweep []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 3 {
			return nil, fmt.Errorf("--sweep: %q is not a number of services >= 3", s)
		}
		sweep = append(sweep, n)
	}
	return sweep, nil
}

// setDefaultConfigs sets the default config each binary's D runs on: otelcol-config.yaml beside
// the binary's _build, unless --default-config (a path, or name=path,...) names another.
func setDefaultConfigs(bins []namedBinary, list string) {
	for i := range bins {
		b := &bins[i]
		b.defaultConfig = filepath.Join(filepath.Dir(filepath.Dir(b.path)), "otelcol-config.yaml")
		for _, d := range strings.Split(list, ",") {
			name, path, ok := strings.Cut(d, "=")
			switch {
			case d == "":
			case !ok:
				b.defaultConfig = d
			case name == b.name:
				b.defaultConfig = path
			}
		}
	}
}

// result is one run of one binary on one config.
type result struct {
	Binary        string    `json:"binary"`
	Config        string    `json:"config"`
	Services      int       `json:"services"`
	Shape         string    `json:"shape"`
	Round         int       `json:"round"`
	IdleMsPerSec  float64   `json:"idle_cpu_ms_per_s"`
	CPUPerMillion float64   `json:"cpu_s_per_1m_spans"`
	AcceptedPerS  float64   `json:"accepted_spans_per_s"`
	Refused       float64   `json:"refused_spans"`
	GenFailed     uint64    `json:"generator_failed_spans"`
	RSSMeanMiB    float64   `json:"rss_mean_mib"`
	RSSMaxMiB     float64   `json:"rss_max_mib"`
	Series        int       `json:"prometheus_series"`
	APIIdleP99Ms  []float64 `json:"api_idle_p99_ms"`   // one per idle window
	APILoadP99Ms  []float64 `json:"api_loaded_p99_ms"` // one per loaded window
	APILate       int       `json:"api_late"`
	APIErrors     int       `json:"api_errors"`
}

func run(o options) (bool, error) {
	dir, cleanup, err := workDir(o)
	if err != nil {
		return false, err
	}
	defer cleanup()
	defaults, err := readDefaults(o)
	if err != nil {
		return false, err
	}
	results, err := runTable(o, dir, defaults)
	if err != nil {
		return false, err
	}
	printTable(o, results)
	ok := true
	if o.check {
		ok = check(o, results)
	}

	var sweep []result
	if len(o.sweep) > 0 {
		if sweep, err = runSweep(o, dir, defaults); err != nil {
			return false, err
		}
		printSweep(o, sweep)
		if err := plotSweep(o, sweep); err != nil {
			return false, err
		}
		fmt.Printf("plot: %s\n", o.plotPath)
	}
	if o.jsonPath != "" {
		b, _ := json.MarshalIndent(map[string]any{"table": results, "sweep": sweep}, "", "  ")
		if err := os.WriteFile(o.jsonPath, b, 0o644); err != nil {
			return false, err
		}
	}
	return ok, nil
}

// workDir makes the folder of the runs' configs and logs (--keep, or a temporary one that cleanup
// removes) and the --profile folder.
func workDir(o options) (string, func(), error) {
	dir, cleanup := o.keepDir, func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "pipelineload")
		if err != nil {
			return "", nil, err
		}
		dir, cleanup = tmp, func() { os.RemoveAll(tmp) }
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			cleanup()
			return "", nil, err
		}
	}
	return dir, cleanup, nil
}

// readDefaults reads each binary's default config, by binary name; a missing one is an error
// only when config D runs.
func readDefaults(o options) (map[string]string, error) {
	defaults := map[string]string{}
	for _, b := range o.binaries {
		text, err := readDefaultConfig(b.defaultConfig)
		if err != nil && (slices.Contains(o.configs, "D") || slices.Contains(o.sweepConfigs, "D")) {
			return nil, fmt.Errorf("config D of %s: %w", b.path, err)
		}
		defaults[b.name] = text
	}
	return defaults, nil
}

// runTable runs every config on every binary, --rounds times, the order of the configs reversed
// every other round.
func runTable(o options, dir string, defaults map[string]string) ([]result, error) {
	w, err := newWorkload(o.services, o.rate, o.shape)
	if err != nil {
		return nil, err
	}
	fmt.Printf("load: %d services, %s, %.0f spans per request (%s), %d rounds; machine: %d CPUs\n",
		o.services, rateText(o.rate), w.spansPerRequest(), w.shape, o.rounds, numCPU())
	for _, c := range o.configs {
		fmt.Printf("  %s  %s\n", c, specs[c].description)
	}
	var results []result
	for round := range o.rounds {
		order := slices.Clone(o.configs)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		var runs []func() (result, error)
		for _, c := range order {
			for _, b := range o.binaries {
				runs = append(runs, func() (result, error) {
					return runOne(o, dir, b, specs[c], defaults[b.name], w, o.warmup, round, true)
				})
			}
		}
		rs, err := runRound(runs, o.together)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			fmt.Printf("  round %d %s: %s\n", round+1, label(r.Binary, r.Config), r.line())
		}
		results = append(results, rs...)
	}
	return results, nil
}

// runRound runs a round's runs one after the other, or all at the same time (together); the
// results come in the order of runs.
func runRound(runs []func() (result, error), together bool) ([]result, error) {
	rs := make([]result, len(runs))
	errs := make([]error, len(runs))
	if !together {
		for i, run := range runs {
			if rs[i], errs[i] = run(); errs[i] != nil {
				return nil, errs[i]
			}
		}
		return rs, nil
	}
	var wg sync.WaitGroup
	for i, run := range runs {
		wg.Go(func() { rs[i], errs[i] = run() })
	}
	wg.Wait()
	return rs, errors.Join(errs...)
}

// runSweep runs the sweep's configs on every binary against each number of services, in each
// shape (a shape's runs at the same time with --together).
func runSweep(o options, dir string, defaults map[string]string) ([]result, error) {
	fmt.Printf("\ncardinality sweep: configs %s, %s, Prometheus exporter scraped every %s\n", strings.Join(o.sweepConfigs, ", "), rateText(o.rate), o.scrapeEvery)
	var sweep []result
	for _, shape := range o.sweepShapes {
		// A shape's workloads are encoded once and serve every round, as the table's does.
		workloads := make([]*workload, len(o.sweep))
		for i, n := range o.sweep {
			var err error
			if workloads[i], err = newWorkload(n, o.rate, shape); err != nil {
				return nil, err
			}
		}
		for round := range o.sweepRounds {
			var runs []func() (result, error)
			for _, sw := range workloads {
				for _, c := range o.sweepConfigs {
					for _, b := range o.binaries {
						runs = append(runs, func() (result, error) {
							return runOne(o, dir, b, specs[c], defaults[b.name], sw, o.sweepWarmup, round, false)
						})
					}
				}
			}
			rs, err := runRound(runs, o.together)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				fmt.Printf("  round %d, %6d services, %s shape %s: %s\n", r.Round, r.Services, shape, label(r.Binary, r.Config), r.line())
			}
			sweep = append(sweep, rs...)
		}
	}
	return sweep, nil
}

func rateText(r float64) string {
	if r <= 0 {
		return "unthrottled"
	}
	return fmt.Sprintf("%.0f spans/s", r)
}

func label(binary, config string) string {
	if binary == "" {
		return config
	}
	return config + "@" + binary
}

func (r result) line() string {
	s := fmt.Sprintf("idle %.2f ms/s, %.2f CPU-s/1M spans at %.0f spans/s, refused %.0f, RSS %.0f MiB",
		r.IdleMsPerSec, r.CPUPerMillion, r.AcceptedPerS, r.Refused, r.RSSMeanMiB)
	if r.Series > 0 {
		s += fmt.Sprintf(", %d series", r.Series)
	}
	if len(r.APIIdleP99Ms) > 0 {
		s += fmt.Sprintf(", API p99 (median of %d windows) %.2f ms idle / %.2f ms loaded", len(r.APIIdleP99Ms), median(r.APIIdleP99Ms), median(r.APILoadP99Ms))
	}
	return s
}

// runOne starts the collector on spec and measures it: idle CPU, then CPU, RSS and counts under
// load, then (withAPI, on a config with the breaker) the API's latency in alternating idle and
// loaded windows.
func runOne(o options, dir string, b namedBinary, spec configSpec, defaultText string, w *workload, warmup time.Duration, round int, withAPI bool) (result, error) {
	r := result{Binary: b.name, Config: spec.name, Services: w.services, Shape: w.shape, Round: round + 1}
	name := fmt.Sprintf("%s-%s-%d-%s-r%d", spec.name, b.name, w.services, w.shape, round)
	c, err := startCollector(b.path, dir, name, spec, defaultText, o.profileDir != "", o.overlay)
	if err != nil {
		return r, err
	}
	defer c.stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var bg sync.WaitGroup
	defer bg.Wait()
	defer cancel()
	var sc scraper
	if spec.hasProm {
		bg.Go(func() { sc.run(ctx, fmt.Sprintf("http://127.0.0.1:%d/metrics", c.ports.Prometheus), o.scrapeEvery) })
	}
	time.Sleep(o.settle)

	// Idle: nothing sent, nothing asked (the scraper's request every 10 s aside, as in production).
	n0, t0 := c.runNanos(), time.Now()
	time.Sleep(o.idle)
	r.IdleMsPerSec = (c.runNanos() - n0) / 1e6 / time.Since(t0).Seconds()

	g, err := newGenerator(fmt.Sprintf("127.0.0.1:%d", c.ports.OTLP), w, o.rate, o.conns)
	if err != nil {
		return r, err
	}
	defer g.close()
	gctx, gcancel := context.WithCancel(ctx)
	var gen sync.WaitGroup
	gen.Go(func() { g.run(gctx, o.workers) })
	defer func() { gcancel(); gen.Wait() }()
	time.Sleep(warmup)

	lw, err := measureLoad(c, g, o.window)
	if err != nil {
		return r, err
	}
	if o.profileDir != "" {
		if err := c.saveProfiles(o.profileDir, name, o.profileCPU); err != nil {
			return r, err
		}
	}
	// The API idle and under load, after the CPU window: its own cost must not count per span.
	if withAPI && spec.hasBreaker && o.apiRate > 0 && o.apiPairs > 0 {
		apiURL := fmt.Sprintf("http://127.0.0.1:%d/v1/breakers/%s", c.ports.Breaker, serviceName(1))
		r.setAPI(measureAPI(ctx, apiURL, o.apiRate, o.apiPairs, o.apiWindow, time.Second, g))
	}
	gcancel()
	gen.Wait()
	if lw.accepted <= 0 {
		return r, fmt.Errorf("%s: no span accepted in the window (log %s)", name, c.log.Name())
	}
	r.setLoad(lw)
	r.GenFailed = g.failed.Load() - lw.failed0
	cancel()
	bg.Wait()
	r.Series = sc.last()
	return r, nil
}

// loadWindow is what the collector did in the measured load window.
type loadWindow struct {
	cpuSeconds, seconds float64
	accepted, refused   float64
	rss                 []float64 // MiB, once a second
	failed0             uint64    // the generator's failed spans when the window began
}

// measureLoad measures the collector over window, the generator running: its CPU, its RSS once a
// second, and the spans its receiver accepted and refused.
func measureLoad(c *collector, g *generator, window time.Duration) (loadWindow, error) {
	var lw loadWindow
	acc0, ref0, err := c.spanCounts()
	if err != nil {
		return lw, err
	}
	cpu0, t1 := c.cpuSeconds(), time.Now()
	lw.failed0 = g.failed.Load()
	for time.Since(t1) < window {
		time.Sleep(time.Second)
		lw.rss = append(lw.rss, c.rssMiB())
	}
	lw.cpuSeconds, lw.seconds = c.cpuSeconds()-cpu0, time.Since(t1).Seconds()
	acc1, ref1, err := c.spanCounts()
	if err != nil {
		return lw, err
	}
	lw.accepted, lw.refused = acc1-acc0, ref1-ref0
	return lw, nil
}

// setLoad sets the figures of the load window (lw.accepted > 0).
func (r *result) setLoad(lw loadWindow) {
	r.CPUPerMillion = lw.cpuSeconds / lw.accepted * 1e6
	r.AcceptedPerS = lw.accepted / lw.seconds
	r.Refused = lw.refused
	r.RSSMeanMiB, r.RSSMaxMiB = mean(lw.rss), slices.Max(lw.rss)
}

// setAPI sets the p99 of every API window, idle and loaded, and the late and failed requests.
func (r *result) setAPI(aw apiWindows) {
	for _, d := range aw.idle {
		r.APIIdleP99Ms = append(r.APIIdleP99Ms, ms(d))
	}
	for _, d := range aw.loaded {
		r.APILoadP99Ms = append(r.APILoadP99Ms, ms(d))
	}
	r.APILate, r.APIErrors = aw.late, aw.errors
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// median is the median of xs (the upper one of an even count; 0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}
