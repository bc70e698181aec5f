package harness

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-collector/vigil/testbed/internal/process"
)

// Prometheus is a real Prometheus server (Debian's prometheus package) started by a test: it
// scrapes the given targets and evaluates the given rule files, on loopback, with its own data
// folder.
type Prometheus struct {
	Addr string
}

// PrometheusOptions configure StartPrometheus.
type PrometheusOptions struct {
	// Targets are host:port addresses scraped at /metrics.
	Targets []string
	// RuleFiles are loaded as rule_files.
	RuleFiles []string
	// Interval is both the scrape and the evaluation interval.
	Interval time.Duration
}

// StartPrometheus starts Prometheus and waits until it is ready; the test is skipped when the
// prometheus binary is not installed (apt-get install prometheus; .ci/run installs it). A
// cleanup stops it.
func StartPrometheus(tb testing.TB, o PrometheusOptions) *Prometheus {
	tb.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		tb.Skip("prometheus is not installed (apt-get install prometheus); .ci/run installs it")
	}
	dir := tb.TempDir()
	targets, _ := json.Marshal(o.Targets)
	rules, _ := json.Marshal(o.RuleFiles)
	cfg := fmt.Sprintf("global: {scrape_interval: %s, evaluation_interval: %s, scrape_timeout: %s}\nrule_files: %s\nscrape_configs:\n  - job_name: vigil\n    static_configs: [{targets: %s}]\n",
		o.Interval, o.Interval, o.Interval, rules, targets)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	p := &Prometheus{Addr: fmt.Sprintf("127.0.0.1:%d", FreePort(tb))}
	proc, err := process.Start(bin, []string{"--config.file=" + cfgPath, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + p.Addr, "--log.level=warn"}, nil, 0)
	if err != nil {
		tb.Fatalf("prometheus: %v", err)
	}
	tb.Cleanup(func() {
		_, _ = proc.Stop(15 * time.Second)
		if tb.Failed() {
			tb.Logf("prometheus logs:\n%s", proc.Logs())
		}
	})
	if err := proc.WaitReady("http://"+p.Addr+"/-/ready", 30*time.Second); err != nil {
		tb.Fatalf("prometheus %v: %s", err, proc.Logs())
	}
	return p
}

// Alert is one alert the Prometheus API lists (pending or firing).
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    time.Time         `json:"activeAt"`
	Value       string            `json:"value"`
}

// Alerts returns the pending and firing alerts.
func (p *Prometheus) Alerts() ([]Alert, error) {
	var res struct {
		Status string
		Data   struct{ Alerts []Alert }
	}
	if err := p.get("/api/v1/alerts", &res); err != nil {
		return nil, err
	}
	return res.Data.Alerts, nil
}

// Sample is one series' value (instant query) or values (range selector).
type Sample struct {
	Metric map[string]string
	Value  [2]any   // [unix seconds, "value"] of an instant vector
	Values [][2]any // of a range vector
}

// Query runs an instant query now.
func (p *Prometheus) Query(q string) ([]Sample, error) {
	var res struct {
		Status string
		Error  string
		Data   struct{ Result []Sample }
	}
	if err := p.get("/api/v1/query?"+url.Values{"query": {q}}.Encode(), &res); err != nil {
		return nil, err
	}
	if res.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, res.Error)
	}
	return res.Data.Result, nil
}

// Point is one raw sample of a range vector.
type Point struct {
	At    time.Time
	Value float64
}

// Points returns the samples of a range vector sample.
func (s Sample) Points() []Point {
	out := make([]Point, 0, len(s.Values))
	for _, v := range s.Values {
		ts, _ := v[0].(float64)
		str, _ := v[1].(string)
		f, _ := strconv.ParseFloat(str, 64)
		out = append(out, Point{At: time.UnixMilli(int64(ts * 1000)), Value: f})
	}
	return out
}

// Float returns an instant sample's value.
func (s Sample) Float() float64 {
	str, _ := s.Value[1].(string)
	f, _ := strconv.ParseFloat(str, 64)
	return f
}

func (p *Prometheus) get(path string, into any) error {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + p.Addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(into)
}
