// Command healthcheckload measures the healthcheck receiver under load: it runs two otelcol-vigil
// processes side by side, one probing N HTTP targets on loopback and one with the same pipeline
// and no targets, and reports the CPU and RSS of each (and their ratio) and the p99 lateness of
// probe starts against their schedule, read from the receiver's own telemetry.
//
//	go run ./testbed/cmd/healthcheckload [--targets 1000] [--interval 10s] [--warmup 20s] [--window 60s]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vigil-collector/vigil/testbed/internal/loopback"
)

func main() {
	targets := flag.Int("targets", 1000, "HTTP targets the loaded collector probes")
	interval := flag.Duration("interval", 10*time.Second, "probe interval of every target")
	warmup := flag.Duration("warmup", 20*time.Second, "time before measuring (every target has started)")
	window := flag.Duration("window", 60*time.Second, "measurement window")
	binary := flag.String("binary", "_build/otelcol-vigil", "collector binary")
	flag.Parse()
	if err := run(*binary, *targets, *interval, *warmup, *window); err != nil {
		log.Fatal(err)
	}
}

func run(binary string, n int, interval, warmup, window time.Duration) error {
	if warmup < interval {
		return fmt.Errorf("--warmup (%s) must cover at least one --interval (%s) so every target has started", warmup, interval)
	}
	// The probed targets: one loopback server answering every path.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var hits countingHandler
	srv := &http.Server{Handler: &hits, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	dir, err := os.MkdirTemp("", "healthcheckload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	loaded, err := start(binary, dir, "loaded", config(n, interval, l.Addr().String()))
	if err != nil {
		return err
	}
	defer loaded.stop()
	baseline, err := start(binary, dir, "baseline", config(0, interval, ""))
	if err != nil {
		return err
	}
	defer baseline.stop()

	fmt.Printf("targets=%d interval=%s warmup=%s window=%s\n", n, interval, warmup, window)
	time.Sleep(warmup)
	hitsAtStart := hits.n.Load()
	driftStart, err := loaded.drift()
	if err != nil {
		return err
	}
	cpu0 := [2]float64{loaded.cpu(), baseline.cpu()}
	var rss [2][]float64
	deadline := time.Now().Add(window)
	for time.Now().Before(deadline) {
		rss[0] = append(rss[0], loaded.rss())
		rss[1] = append(rss[1], baseline.rss())
		time.Sleep(time.Second)
	}
	cpu1 := [2]float64{loaded.cpu(), baseline.cpu()}
	driftEnd, err := loaded.drift()
	if err != nil {
		return err
	}
	probes := hits.n.Load() - hitsAtStart

	secs := window.Seconds()
	cpuLoaded, cpuBase := (cpu1[0]-cpu0[0])/secs*100, (cpu1[1]-cpu0[1])/secs*100
	rssLoaded, rssBase := mean(rss[0]), mean(rss[1])
	fmt.Printf("probes answered in window: %d (%.1f/s, expected %.1f/s)\n", probes, float64(probes)/secs, float64(n)/interval.Seconds())
	fmt.Printf("collector CPU: loaded %.2f%% of a core, baseline %.2f%%, difference %.2f points, ratio %s\n",
		cpuLoaded, cpuBase, cpuLoaded-cpuBase, ratio(cpuLoaded, cpuBase))
	fmt.Printf("collector RSS: loaded %.1f MiB (max %.1f), baseline %.1f MiB (max %.1f), ratio %s\n",
		rssLoaded, maxOf(rss[0]), rssBase, maxOf(rss[1]), ratio(rssLoaded, rssBase))
	d := driftEnd.minus(driftStart)
	fmt.Printf("probe start drift over %d probes: p50 %s, p99 %s, max bucket %s (goal p99 <= %s)\n",
		uint64(d.count), fmtSec(d.quantile(0.5)), fmtSec(d.quantile(0.99)), fmtSec(d.maxBound()),
		max(interval/100, 50*time.Millisecond))
	return nil
}

type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.n.Add(1)
	_, _ = io.WriteString(w, "ok")
}

func config(n int, interval time.Duration, addr string) func(telemetryPort, promPort int) string {
	return func(telemetryPort, promPort int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "receivers:\n  healthcheck:\n    collection_interval: %s\n    timeout: %s\n    targets:", interval, min(2*time.Second, interval/2))
		if n == 0 {
			b.WriteString(" []\n")
		} else {
			b.WriteString("\n")
		}
		for i := range n {
			fmt.Fprintf(&b, "      - {name: t%04d, service: svc%03d, type: http, endpoint: \"http://%s/t/%d\"}\n", i, i%100, addr, i)
		}
		fmt.Fprintf(&b, `processors:
  batch:
exporters:
  prometheus:
    endpoint: 127.0.0.1:%d
service:
  telemetry:
    logs: {level: warn}
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}
  pipelines:
    metrics:
      receivers: [healthcheck]
      processors: [batch]
      exporters: [prometheus]
`, promPort, telemetryPort)
		return b.String()
	}
}

type collector struct {
	cmd           *exec.Cmd
	telemetryPort int
}

func start(binary, dir, name string, cfg func(int, int) string) (*collector, error) {
	tp, err := loopback.FreePort()
	if err != nil {
		return nil, err
	}
	pp, err := loopback.FreePort()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(cfg(tp, pp)), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, "--config="+path)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &collector{cmd: cmd, telemetryPort: tp}
	for i := 0; i < 100; i++ {
		if _, err := c.scrape(); err == nil {
			return c, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.stop()
	return nil, fmt.Errorf("%s collector did not start", name)
}

func (c *collector) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
	}
}

// cpu returns the process's user+system CPU seconds so far.
func (c *collector) cpu() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return math.NaN()
	}
	// Fields after the command name, which is in parentheses and may contain spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// rss returns the resident set size in MiB.
func (c *collector) rss() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return math.NaN()
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return math.NaN()
}

func (c *collector) scrape() (string, error) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", c.telemetryPort))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// histogram is a cumulative Prometheus histogram: upper bounds and counts.
type histogram struct {
	bounds []float64
	counts []float64
	count  float64
}

func (c *collector) drift() (histogram, error) {
	body, err := c.scrape()
	if err != nil {
		return histogram{}, err
	}
	const name = "otelcol_healthcheck_probe_schedule_drift"
	var h histogram
	for _, line := range strings.Split(body, "\n") {
		switch {
		case strings.HasPrefix(line, name+"_bucket{"):
			i := strings.Index(line, `le="`)
			j := strings.Index(line[i+4:], `"`)
			le, _ := strconv.ParseFloat(line[i+4:i+4+j], 64)
			v, _ := strconv.ParseFloat(strings.Fields(line)[len(strings.Fields(line))-1], 64)
			h.bounds, h.counts = append(h.bounds, le), append(h.counts, v)
		case strings.HasPrefix(line, name+"_count"):
			h.count, _ = strconv.ParseFloat(strings.Fields(line)[1], 64)
		}
	}
	if len(h.bounds) == 0 {
		return h, errors.New("no drift histogram in the collector's telemetry")
	}
	idx := make([]int, len(h.bounds))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return h.bounds[idx[a]] < h.bounds[idx[b]] })
	sorted := histogram{count: h.count}
	for _, i := range idx {
		sorted.bounds, sorted.counts = append(sorted.bounds, h.bounds[i]), append(sorted.counts, h.counts[i])
	}
	return sorted, nil
}

func (h histogram) minus(o histogram) histogram {
	out := histogram{bounds: h.bounds, count: h.count - o.count}
	for i := range h.counts {
		out.counts = append(out.counts, h.counts[i]-o.counts[i])
	}
	return out
}

// quantile interpolates linearly inside the bucket holding q, as PromQL histogram_quantile does.
func (h histogram) quantile(q float64) float64 {
	rank := q * h.count
	lower, prev := 0.0, 0.0
	for i, b := range h.bounds {
		if h.counts[i] >= rank {
			if math.IsInf(b, 1) {
				return lower
			}
			return lower + (b-lower)*(rank-prev)/max(h.counts[i]-prev, 1)
		}
		lower, prev = b, h.counts[i]
	}
	return lower
}

// maxBound is the upper bound of the highest non-empty bucket.
func (h histogram) maxBound() float64 {
	prev := 0.0
	highest := 0.0
	for i, b := range h.bounds {
		if h.counts[i] > prev {
			highest = b
		}
		prev = h.counts[i]
	}
	return highest
}

func fmtSec(s float64) string {
	if math.IsInf(s, 1) {
		return "+Inf"
	}
	return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
}

// ratio formats a/b; an idle baseline (no CPU tick in the window) has no meaningful ratio.
func ratio(a, b float64) string {
	if b <= 0 {
		return "n/a (baseline idle: under one 10 ms CPU tick in the window)"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
