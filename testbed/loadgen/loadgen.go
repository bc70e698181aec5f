// Package loadgen is the open-loop HTTP load of the API latency commands (breakerlatency,
// statuslatency): requests sent on a fixed schedule, latency measured from the moment each is
// sent, and the client's lag behind its schedule kept beside it, so a stalled server (which makes
// requests queue) shows up there rather than being hidden.
package loadgen // import "github.com/vigil-collector/vigil/testbed/loadgen"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-collector/vigil/testbed/internal/loopback"
)

// Result is one phase's latencies and schedule lags (sorted), and its failed requests.
type Result struct {
	Latency, Lag []time.Duration
	Errors       int
}

// Add appends another phase's figures.
func (r *Result) Add(o Result) {
	r.Latency = append(r.Latency, o.Latency...)
	r.Lag = append(r.Lag, o.Lag...)
	r.Errors += o.Errors
}

// Line is the result as one line of a report.
func (r *Result) Line(name string) string {
	slices.Sort(r.Latency)
	slices.Sort(r.Lag)
	if len(r.Latency) == 0 {
		return fmt.Sprintf("%-44s n=0 errors=%d", name, r.Errors)
	}
	return fmt.Sprintf("%-44s n=%-7d errors=%-4d p50=%-10s p90=%-10s p99=%-10s max=%-10s schedule lag p99=%s", name,
		len(r.Latency), r.Errors, Quantile(r.Latency, 0.50), Quantile(r.Latency, 0.90), Quantile(r.Latency, 0.99),
		r.Latency[len(r.Latency)-1].Round(time.Microsecond), Quantile(r.Lag, 0.99))
}

// Quantile returns the p-quantile of sorted durations, rounded to the microsecond.
func Quantile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1))].Round(time.Microsecond)
}

// FreePorts returns n distinct loopback TCP ports that were free when asked.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for try := 0; len(ports) < n; try++ {
		if try == 100*n {
			return nil, fmt.Errorf("no %d distinct free ports in %d tries", n, try)
		}
		p, err := loopback.FreePort()
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// WaitReady waits up to 30 s for url to answer 200.
func WaitReady(url string) error {
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

// OpenLoop sends rate GET requests per second to url for d, spread over workers keep-alive
// connections, each read to its end.
func OpenLoop(url string, rate int, d time.Duration, workers int) Result {
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
	res := Result{Latency: make([]time.Duration, 0, n), Lag: make([]time.Duration, 0, n)}
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
					res.Errors++
				} else {
					res.Latency = append(res.Latency, took)
					res.Lag = append(res.Lag, sent.Sub(at))
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
	return res
}

// ServeTrivial is the baseline of the latency programs, the least a Go HTTP server can do for a
// small JSON answer; it serves addr until the process ends.
func ServeTrivial(addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"target":"checkout","state":"closed","allow":true}`+"\n")
	})
	return http.ListenAndServe(addr, mux)
}

// Servers are the binary under test and the trivial baseline, each its own child process.
type Servers struct {
	// TrivialAddr is where the baseline listens.
	TrivialAddr string
	dir         string
	procs       []*exec.Cmd
}

// StartServers writes config into a temporary folder and starts binary on it, and beside it this
// program again with -serve-trivial on a free port (the program must serve the baseline with
// ServeTrivial when given that flag). Stop ends both.
func StartServers(binary, config string) (*Servers, error) {
	s := &Servers{}
	var err error
	if s.dir, err = os.MkdirTemp("", "vigil-latency"); err != nil {
		return nil, err
	}
	cfg := filepath.Join(s.dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		s.Stop()
		return nil, err
	}
	port, err := loopback.FreePort()
	if err != nil {
		s.Stop()
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.TrivialAddr = fmt.Sprintf("127.0.0.1:%d", port)
	vigil := exec.Command(binary, "--config="+cfg)
	vigil.Stderr = io.Discard
	for _, c := range []*exec.Cmd{vigil, exec.Command(self, "-serve-trivial", s.TrivialAddr)} {
		if err := c.Start(); err != nil {
			s.Stop()
			return nil, err
		}
		s.procs = append(s.procs, c)
	}
	if err := WaitReady("http://" + s.TrivialAddr + "/"); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop ends the child processes (SIGTERM, then waits) and removes the temporary folder.
func (s *Servers) Stop() {
	for _, c := range s.procs {
		_ = c.Process.Signal(syscall.SIGTERM)
		_ = c.Wait()
	}
	s.procs = nil
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}
