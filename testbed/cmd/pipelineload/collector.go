package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

// collector is one otelcol-vigil child process on one config.
type collector struct {
	cmd   *exec.Cmd
	ports ports
	log   *os.File
	done  chan struct{}
}

// startCollector starts the binary on spec's config with fresh ports. A port another process
// took between being found free and being bound fails the start: that start is tried again on
// other ports, up to three times.
func startCollector(binary, dir, name string, spec configSpec, defaultText string, profile bool, overlay node) (*collector, error) {
	for try := 1; ; try++ {
		c, err := startOnce(binary, dir, name, spec, defaultText, profile, overlay)
		if err == nil || !errors.Is(err, errPortTaken) {
			return c, err
		}
		if try == 3 {
			return nil, fmt.Errorf("%w, %d starts", err, try)
		}
		log.Printf("%s: %v; trying other ports", name, err)
	}
}

// errPortTaken is a start that failed because a port was no longer free.
var errPortTaken = errors.New("a port was taken before the collector bound it")

func startOnce(binary, dir, name string, spec configSpec, defaultText string, profile bool, overlay node) (*collector, error) {
	p, err := freePorts()
	if err != nil {
		return nil, err
	}
	cfg, err := spec.render(p, defaultText)
	if err != nil {
		return nil, err
	}
	merge(cfg, overlay)
	if profile {
		withPprof(cfg, p.Pprof)
	}
	text, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	state := filepath.Join(dir, name+"-state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, "--config="+path)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "VIGIL_STATE_DIR="+state, "VIGIL_HOST_NAME=load-host")
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	c := &collector{cmd: cmd, ports: p, log: logf, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			logf.Close()
			b, _ := os.ReadFile(logf.Name())
			if strings.Contains(string(b), "address already in use") {
				return nil, fmt.Errorf("collector on %s: %w", name, errPortTaken)
			}
			return nil, fmt.Errorf("collector on %s exited at start:\n%s", name, tail(string(b), 2000))
		default:
		}
		if _, err := c.telemetry(); err == nil {
			return c, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.stop()
	return nil, fmt.Errorf("collector on %s not ready within 30 s (log %s)", name, logf.Name())
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (c *collector) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	c.log.Close()
}

// cpuSeconds is the process's user + system CPU so far, from /proc/PID/stat (10 ms ticks).
func (c *collector) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// runNanos is the time the process's threads have run on a CPU, summed over
// /proc/PID/task/*/schedstat (nanoseconds): precise enough for the few milliseconds per second
// of an idle collector.
func (c *collector) runNanos() float64 {
	dir := fmt.Sprintf("/proc/%d/task", c.cmd.Process.Pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var sum float64
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			v, _ := strconv.ParseFloat(f[0], 64)
			sum += v
		}
	}
	return sum
}

// rssMiB is the resident set size in MiB.
func (c *collector) rssMiB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// httpClient reads the telemetry and Prometheus endpoints; a Prometheus exposition of 100,000
// series takes seconds to render on a loaded machine.
var httpClient = &http.Client{Timeout: 30 * time.Second}

func get(url string) (string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

// saveProfiles writes a CPU profile over cpuFor and then a heap profile of the collector (its
// pprof extension) into dir, named after the run.
func (c *collector) saveProfiles(dir, name string, cpuFor time.Duration) error {
	base := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/", c.ports.Pprof)
	for _, p := range []struct{ url, file string }{
		{fmt.Sprintf("%sprofile?seconds=%d", base, int(cpuFor.Seconds())), name + "-cpu.pprof"},
		{base + "heap?gc=1", name + "-heap.pprof"},
	} {
		body, err := get(p.url)
		if err != nil {
			return fmt.Errorf("profile %s: %w (is the binary built with the pprof extension?)", p.url, err)
		}
		if err := os.WriteFile(filepath.Join(dir, p.file), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (c *collector) telemetry() (string, error) {
	return get(fmt.Sprintf("http://127.0.0.1:%d/metrics", c.ports.Telemetry))
}

// spanCounts returns the OTLP receiver's accepted and refused span counters.
func (c *collector) spanCounts() (accepted, refused float64, err error) {
	body, err := c.telemetry()
	if err != nil {
		return 0, 0, err
	}
	return sumSamples(body, "otelcol_receiver_accepted_spans"), sumSamples(body, "otelcol_receiver_refused_spans"), nil
}

// sumSamples sums every sample of a counter (with or without the _total suffix).
func sumSamples(body, name string) float64 {
	var sum float64
	for line := range strings.SplitSeq(body, "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		rest = strings.TrimPrefix(rest, "_total")
		if !strings.HasPrefix(rest, "{") && !strings.HasPrefix(rest, " ") {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// countSeries counts the samples of a Prometheus exposition.
func countSeries(body string) int {
	n := 0
	for line := range strings.SplitSeq(body, "\n") {
		if line != "" && line[0] != '#' {
			n++
		}
	}
	return n
}

// scraper fetches the Prometheus exporter every interval, as a Prometheus server would, and
// remembers the last series count.
type scraper struct {
	mu     sync.Mutex
	series int
}

func (s *scraper) run(ctx context.Context, url string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if body, err := get(url); err == nil {
			s.mu.Lock()
			s.series = countSeries(body)
			s.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *scraper) last() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.series
}
