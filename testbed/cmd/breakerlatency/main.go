// Command breakerlatency measures the latency of the breaker API's GET /v1/breakers/{target}
// on the built otelcol-vigil binary, beside a trivial Go HTTP handler, in the same run and under
// the same steady load. Both servers run as child processes; this process is the client.
//
//	go run ./testbed/cmd/breakerlatency -rate 1000 -duration 10s
//
// Requests are sent on a fixed schedule (open loop). Latency is measured from the moment each
// request is sent; the client's lag behind its schedule is reported beside it, so a stalled
// server (which makes requests queue) shows up there rather than being hidden.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

const vigilConfig = `
extensions:
  status:
    endpoint: 127.0.0.1:%d
  breaker:
    status_extension: status
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:%d}
exporters:
  debug:
service:
  extensions: [status, breaker]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`

func main() {
	serve := flag.String("serve-trivial", "", "internal: serve the trivial handler on this address")
	binary := flag.String("binary", "_build/otelcol-vigil", "the otelcol-vigil binary")
	rate := flag.Int("rate", 1000, "requests per second, steady")
	duration := flag.Duration("duration", 10*time.Second, "length of each measured phase")
	workers := flag.Int("workers", 8, "concurrent connections")
	rounds := flag.Int("rounds", 2, "alternating rounds of (trivial, breaker)")
	flag.Parse()
	if *serve != "" {
		serveTrivial(*serve)
		return
	}
	if err := run(*binary, *rate, *duration, *workers, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "breakerlatency:", err)
		os.Exit(1)
	}
}

// serveTrivial is the baseline: the least a Go HTTP server can do for a small JSON answer.
func serveTrivial(addr string) {
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"target":"checkout","state":"closed","allow":true}`+"\n")
	})
	fmt.Fprintln(os.Stderr, http.ListenAndServe(addr, nil))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready", url)
}

func run(binary string, rate int, duration time.Duration, workers, rounds int) error {
	ports := make([]int, 3)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	dir, err := os.MkdirTemp("", "breakerlatency")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, vigilConfig, ports[0], ports[1]), 0o600); err != nil {
		return err
	}
	vigil := exec.Command(binary, "--config="+cfg)
	vigil.Stderr = io.Discard
	self, err := os.Executable()
	if err != nil {
		return err
	}
	trivialAddr := fmt.Sprintf("127.0.0.1:%d", ports[2])
	trivial := exec.Command(self, "-serve-trivial", trivialAddr)
	for _, c := range []*exec.Cmd{vigil, trivial} {
		if err := c.Start(); err != nil {
			return err
		}
		defer func() {
			_ = c.Process.Signal(syscall.SIGTERM)
			_ = c.Wait()
		}()
	}
	breakerBase := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	if err := waitReady(breakerBase + "/v1/breakers"); err != nil {
		return err
	}
	if err := waitReady("http://" + trivialAddr + "/"); err != nil {
		return err
	}
	// A known target in auto mode: the decision path, closed.
	req, _ := http.NewRequest(http.MethodPut, breakerBase+"/v1/breakers/checkout/override", strings.NewReader(`{"mode":"auto"}`))
	if resp, err := http.DefaultClient.Do(req); err != nil {
		return err
	} else {
		resp.Body.Close()
	}
	targets := map[string]string{
		"trivial handler":           "http://" + trivialAddr + "/v1/breakers/checkout",
		"GET /v1/breakers/{target}": breakerBase + "/v1/breakers/checkout",
	}
	lat := map[string][]time.Duration{}
	lags := map[string][]time.Duration{}
	errs := map[string]int{}
	order := []string{"trivial handler", "GET /v1/breakers/{target}"}
	for _, name := range order { // warm both up
		load(targets[name], rate, time.Second, workers)
	}
	for r := 0; r < rounds; r++ {
		for _, name := range order {
			l, g, e := load(targets[name], rate, duration, workers)
			lat[name] = append(lat[name], l...)
			lags[name] = append(lags[name], g...)
			errs[name] += e
		}
	}
	fmt.Printf("steady %d req/s, %d connections, %d × %s per server, alternating\n", rate, workers, rounds, duration)
	for _, name := range order {
		l, g := lat[name], lags[name]
		slices.Sort(l)
		slices.Sort(g)
		fmt.Printf("%-28s n=%-7d errors=%-4d p50=%-10s p90=%-10s p99=%-10s max=%-10s schedule lag p99=%s\n", name, len(l), errs[name],
			q(l, 0.50), q(l, 0.90), q(l, 0.99), l[len(l)-1].Round(time.Microsecond), q(g, 0.99))
	}
	return nil
}

func q(sorted []time.Duration, p float64) time.Duration {
	return sorted[int(p*float64(len(sorted)-1))].Round(time.Microsecond)
}

// load sends rate requests/s for d, spread over workers keep-alive connections, and returns
// each request's latency from its scheduled time.
func load(url string, rate int, d time.Duration, workers int) (latency, lag []time.Duration, errs int) {
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers},
	}
	defer client.CloseIdleConnections()
	n := int(d.Seconds() * float64(rate))
	gap := time.Second / time.Duration(rate)
	slots := make(chan time.Time, n)
	ctx, cancel := context.WithTimeout(context.Background(), d+10*time.Second)
	defer cancel()
	var mu sync.Mutex
	lat := make([]time.Duration, 0, n)
	lag = make([]time.Duration, 0, n)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for at := range slots {
				if wait := time.Until(at); wait > 0 {
					time.Sleep(wait)
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				sent := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = errors.New(resp.Status)
					}
				}
				took := time.Since(sent)
				mu.Lock()
				if err != nil {
					errs++
				} else {
					lat = append(lat, took)
					lag = append(lag, sent.Sub(at))
				}
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		slots <- start.Add(time.Duration(i) * gap)
	}
	close(slots)
	wg.Wait()
	return lat, lag, errs
}
