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
	sweepShapes   []string
	profileDir    string
	profileCPU    time.Duration
	overlay       node
	keepDir       string
	plotPath      string
	jsonPath      string
	defaultConfig string
	check         bool
	maxDOverA     float64
	maxIdleMs     float64
}

// namedBinary is a binary under test and the default config its D runs on.
type namedBinary struct{ name, path, defaultConfig string }

func main() {
	var o options
	binaries := flag.String("binary", "_build/otelcol-vigil", "collector binary, or name=path,name=path to compare binaries side by side (ratios are within a binary)")
	configs := flag.String("configs", "A,B,C,D", "configs to compare (A pass-through, B span_metrics, C Vigil health, D default)")
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
	sweep := flag.String("sweep", "", "numbers of services for the cardinality sweep, e.g. 10,1000,10000")
	sweepConfigs := flag.String("sweep-config", "A,C", "configs of the cardinality sweep (A gives the pass-through's own growth)")
	flag.DurationVar(&o.sweepWarmup, "sweep-warmup", 20*time.Second, "load before measuring in the sweep (every service seen and scored)")
	sweepShapes := flag.String("sweep-shape", shapeSDK, "load shapes of the sweep: sdk, agent or sdk,agent")
	flag.StringVar(&o.profileDir, "profile", "", "write a CPU and a heap profile of every run here, taken after its load window (needs a binary built with the pprof extension)")
	overlay := flag.String("overlay", "", "a YAML file laid over every config (maps merge, other values replace), e.g. to try a setting on every config")
	flag.StringVar(&o.keepDir, "keep", "", "write every run's config and collector log into this folder and keep them (default: a temporary folder, removed)")
	flag.DurationVar(&o.profileCPU, "profile-cpu", 10*time.Second, "how long the CPU profile of --profile runs")
	flag.StringVar(&o.plotPath, "plot", "pipelineload.png", "PNG plot of the sweep")
	flag.StringVar(&o.jsonPath, "json", "", "write every measurement as JSON here")
	flag.StringVar(&o.defaultConfig, "default-config", "", "the default config D runs on, or name=path,... one per named binary (default: otelcol-config.yaml beside the binary's _build)")
	flag.BoolVar(&o.check, "check", false, "exit 1 when D/A or D's idle CPU is past --max-d-over-a / --max-idle-ms")
	flag.Float64Var(&o.maxDOverA, "max-d-over-a", 1.25, "the D/A CPU-per-span goal for --check")
	flag.Float64Var(&o.maxIdleMs, "max-idle-ms", 2, "the idle CPU goal of D for --check, in ms per second")
	flag.Parse()

	if *overlay != "" {
		b, err := os.ReadFile(*overlay)
		if err == nil {
			err = yaml.Unmarshal(b, &o.overlay)
		}
		if err != nil {
			log.Fatalf("--overlay: %v", err)
		}
	}
	for _, b := range strings.Split(*binaries, ",") {
		name, path, ok := strings.Cut(b, "=")
		if !ok {
			name, path = "", b
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := os.Stat(abs); err != nil {
			log.Fatalf("binary %s: %v (run `make build`)", path, err)
		}
		o.binaries = append(o.binaries, namedBinary{name: name, path: abs})
	}
	for _, c := range strings.Split(*configs, ",") {
		if _, ok := specs[c]; !ok {
			log.Fatalf("unknown config %q (A, B, C, D)", c)
		}
		o.configs = append(o.configs, c)
	}
	if *sweep != "" {
		for _, s := range strings.Split(*sweep, ",") {
			n, err := strconv.Atoi(s)
			if err != nil || n < 3 {
				log.Fatalf("--sweep: %q is not a number of services >= 3", s)
			}
			o.sweep = append(o.sweep, n)
		}
		o.sweepShapes = strings.Split(*sweepShapes, ",")
		for _, c := range strings.Split(*sweepConfigs, ",") {
			if _, ok := specs[c]; !ok {
				log.Fatalf("unknown --sweep-config %q", c)
			}
			o.sweepConfigs = append(o.sweepConfigs, c)
		}
	}
	if o.services < 3 {
		log.Fatal("--services must be at least 3 (every service calls the next two)")
	}
	for i := range o.binaries {
		b := &o.binaries[i]
		b.defaultConfig = filepath.Join(filepath.Dir(filepath.Dir(b.path)), "otelcol-config.yaml")
		for _, d := range strings.Split(o.defaultConfig, ",") {
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
	ok, err := run(o)
	if err != nil {
		log.Fatal(err)
	}
	if !ok {
		os.Exit(1)
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
	dir := o.keepDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "pipelineload")
		if err != nil {
			return false, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return false, err
		}
	}
	defaults := map[string]string{}
	for _, b := range o.binaries {
		text, err := readDefaultConfig(b.defaultConfig)
		if err != nil && (slices.Contains(o.configs, "D") || slices.Contains(o.sweepConfigs, "D")) {
			return false, fmt.Errorf("config D of %s: %w", b.path, err)
		}
		defaults[b.name] = text
	}

	w, err := newWorkload(o.services, o.rate, o.shape)
	if err != nil {
		return false, err
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
		for _, c := range order {
			for _, b := range o.binaries {
				r, err := runOne(o, dir, b, specs[c], defaults[b.name], w, o.warmup, round, true)
				if err != nil {
					return false, err
				}
				fmt.Printf("  round %d %s: %s\n", round+1, label(b.name, c), r.line())
				results = append(results, r)
			}
		}
	}
	printTable(o, results)
	ok := true
	if o.check {
		ok = check(o, results)
	}

	var sweep []result
	if len(o.sweep) > 0 {
		fmt.Printf("\ncardinality sweep: configs %s, %s, Prometheus exporter scraped every %s\n", strings.Join(o.sweepConfigs, ", "), rateText(o.rate), o.scrapeEvery)
		for _, n := range o.sweep {
			for _, shape := range o.sweepShapes {
				sw, err := newWorkload(n, o.rate, shape)
				if err != nil {
					return false, err
				}
				for _, c := range o.sweepConfigs {
					for _, b := range o.binaries {
						r, err := runOne(o, dir, b, specs[c], defaults[b.name], sw, o.sweepWarmup, 0, false)
						if err != nil {
							return false, err
						}
						fmt.Printf("  %6d services, %s shape (%.0f spans a request) %s: %s\n", n, shape, sw.spansPerRequest(), label(b.name, c), r.line())
						sweep = append(sweep, r)
					}
				}
			}
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

	acc0, ref0, err := c.spanCounts()
	if err != nil {
		return r, err
	}
	cpu0, t1, failed0 := c.cpuSeconds(), time.Now(), g.failed.Load()
	var rss []float64
	for time.Since(t1) < o.window {
		time.Sleep(time.Second)
		rss = append(rss, c.rssMiB())
	}
	cpu1, secs := c.cpuSeconds(), time.Since(t1).Seconds()
	acc1, ref1, err := c.spanCounts()
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
		aw := measureAPI(ctx, apiURL, o.apiRate, o.apiPairs, o.apiWindow, time.Second, g)
		for _, d := range aw.idle {
			r.APIIdleP99Ms = append(r.APIIdleP99Ms, ms(d))
		}
		for _, d := range aw.loaded {
			r.APILoadP99Ms = append(r.APILoadP99Ms, ms(d))
		}
		r.APILate, r.APIErrors = aw.late, aw.errors
	}
	gcancel()
	gen.Wait()
	accepted := acc1 - acc0
	if accepted <= 0 {
		return r, fmt.Errorf("%s: no span accepted in the window (log %s)", name, c.log.Name())
	}
	r.CPUPerMillion = (cpu1 - cpu0) / accepted * 1e6
	r.AcceptedPerS = accepted / secs
	r.Refused = ref1 - ref0
	r.GenFailed = g.failed.Load() - failed0
	r.RSSMeanMiB, r.RSSMaxMiB = mean(rss), slices.Max(rss)
	cancel()
	bg.Wait()
	r.Series = sc.last()
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// median is the median of xs (the upper one of an even count; 0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
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
