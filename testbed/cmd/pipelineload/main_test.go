package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"gopkg.in/yaml.v3"
)

func TestBatchSizeIsWhatAnSDKSends(t *testing.T) {
	cases := []struct {
		rate     float64
		services int
		want     int
	}{
		{10000, 4, 512},   // 2,500 spans/s per service: full batches
		{10000, 100, 500}, // 100/s: what 5 s accumulate
		{10000, 10000, 4}, // 1/s: one trace at least
		{0, 10, 512},      // unthrottled: full batches
	}
	for _, c := range cases {
		if got := batchSize(c.rate, c.services); got != c.want {
			t.Errorf("batchSize(%v, %d) = %d, want %d", c.rate, c.services, got, c.want)
		}
	}
}

func TestWorkloadShape(t *testing.T) {
	w, err := newWorkload(10, 10000, shapeSDK)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.requests) != 60 { // 64/10 = 6 variants of 10 services
		t.Fatalf("%d requests", len(w.requests))
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(w.requests[3]); err != nil {
		t.Fatal(err)
	}
	td := req.Traces()
	if td.ResourceSpans().Len() != 1 || td.SpanCount() != w.spansPerBatch {
		t.Fatalf("%d resources, %d spans; want one resource of %d spans", td.ResourceSpans().Len(), td.SpanCount(), w.spansPerBatch)
	}
	svc, _ := td.ResourceSpans().At(0).Resource().Attributes().Get("service.name")
	if svc.Str() != serviceName(3) {
		t.Errorf("request 3 is from %s", svc.Str())
	}
	kinds := map[ptrace.SpanKind]int{}
	peers := map[string]bool{}
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		s := spans.At(i)
		kinds[s.Kind()]++
		if p, ok := s.Attributes().Get("peer.service"); ok {
			peers[p.Str()] = true
		}
		if s.EndTimestamp() <= s.StartTimestamp() {
			t.Fatalf("span %d has no duration", i)
		}
	}
	n := w.spansPerBatch / spansPerTrace
	if kinds[ptrace.SpanKindServer] != n || kinds[ptrace.SpanKindClient] != 2*n || kinds[ptrace.SpanKindInternal] != n {
		t.Errorf("kinds %v", kinds)
	}
	if len(peers) != 2 || !peers[serviceName(4)] || !peers[serviceName(5)] {
		t.Errorf("peers %v, want the next two services", peers)
	}
}

func TestDefaultConfigMovesEveryPort(t *testing.T) {
	text, err := os.ReadFile("../../../otelcol-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := ports{OTLP: 30001, Telemetry: 30002, Prometheus: 30003, Breaker: 30004, BreakerGRPC: 30005}
	cfg, err := defaultConfig(p, string(text))
	if err != nil {
		t.Fatal(err)
	}
	withPprof(cfg, 30006)
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	if strings.Contains(out, "localhost:") {
		t.Errorf("a localhost port is left:\n%s", out)
	}
	for _, want := range []string{"127.0.0.1:30001", "127.0.0.1:30003", "127.0.0.1:30004", "127.0.0.1:30005", "127.0.0.1:30006"} {
		if !strings.Contains(out, want) {
			t.Errorf("%s missing", want)
		}
	}
	var root map[string]any
	if err := yaml.Unmarshal([]byte(out), &root); err != nil {
		t.Fatal(err)
	}
	readers := dig(root, "service", "telemetry", "metrics")["readers"].([]any)
	prom := dig(readers[0], "pull", "exporter", "prometheus")
	if prom["port"] != 30002 || prom["host"] != "127.0.0.1" {
		t.Errorf("telemetry reader %v", prom)
	}
	if exts := dig(root, "service")["extensions"].([]any); exts[len(exts)-1] != "pprof" || len(exts) < 2 {
		t.Errorf("service extensions %v: pprof not added to the default's", exts)
	}
	// The health endpoint and the healthcheck target that probes it moved together.
	health := dig(root, "extensions", "healthcheckv2", "http")["endpoint"].(string)
	port := health[strings.LastIndexByte(health, ':')+1:]
	if _, err := strconv.Atoi(port); err != nil || !strings.Contains(out, "http://127.0.0.1:"+port+"/health/status") {
		t.Errorf("health endpoint %s and its probe do not match:\n%s", health, out)
	}
}

func TestSumSamplesAndSeries(t *testing.T) {
	body := `# HELP otelcol_receiver_accepted_spans_total x
# TYPE otelcol_receiver_accepted_spans_total counter
otelcol_receiver_accepted_spans_total{receiver="otlp",transport="grpc"} 1200
otelcol_receiver_accepted_spans_total{receiver="otlp",transport="http"} 34
otelcol_receiver_accepted_spans_other 5
otelcol_receiver_refused_spans_total{receiver="otlp",transport="grpc"} 2
`
	if got := sumSamples(body, "otelcol_receiver_accepted_spans"); got != 1234 {
		t.Errorf("accepted %v", got)
	}
	if got := sumSamples(body, "otelcol_receiver_refused_spans"); got != 2 {
		t.Errorf("refused %v", got)
	}
	if got := countSeries(body); got != 4 {
		t.Errorf("series %d", got)
	}
}

func TestAgentShapeGroupsServices(t *testing.T) {
	sdk, err := newWorkload(10000, 10000, shapeSDK)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := newWorkload(10000, 10000, shapeAgent)
	if err != nil {
		t.Fatal(err)
	}
	if sdk.spansPerRequest() != 4 || len(sdk.requests) != 10000 {
		t.Fatalf("sdk: %d requests of %.1f spans", len(sdk.requests), sdk.spansPerRequest())
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(agent.requests[1]); err != nil {
		t.Fatal(err)
	}
	td := req.Traces()
	if td.ResourceSpans().Len() != 128 || td.SpanCount() != 512 || agent.spans[1] != 512 {
		t.Fatalf("agent request: %d resources, %d spans (recorded %d); want 128 services' batches of 4", td.ResourceSpans().Len(), td.SpanCount(), agent.spans[1])
	}
	svc, _ := td.ResourceSpans().At(0).Resource().Attributes().Get("service.name")
	if svc.Str() != serviceName(128) {
		t.Errorf("the second request starts with %s", svc.Str())
	}
	total := 0
	for _, n := range agent.spans {
		total += n
	}
	if total != 10000*4 {
		t.Errorf("agent requests hold %d spans, want every service's batch once (40000)", total)
	}
	if _, err := newWorkload(10, 10000, "gateway"); err == nil {
		t.Error("an unknown shape was accepted")
	}
}

func TestBuiltConfigs(t *testing.T) {
	p := ports{OTLP: 30001, Telemetry: 30002, Prometheus: 30003, Breaker: 30004, BreakerGRPC: 30005, Pprof: 30006}
	for name, want := range map[string]struct{ traces, metrics string }{
		"A":   {"[otlp] [batch] [debug]", ""},
		"B":   {"[otlp] [batch] [debug span_metrics]", "[span_metrics] [batch] [prometheus]"},
		"C":   {"[otlp] [healthscore batch] [debug]", "[otlp] [healthscore batch] [prometheus]"},
		"Cnb": {"[otlp] [healthscore batch] [debug]", "[otlp] [healthscore batch] [prometheus]"},
	} {
		cfg, err := specs[name].render(p, "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var root map[string]any
		if err := yaml.Unmarshal(b, &root); err != nil {
			t.Fatal(err)
		}
		pipes := dig(root, "service", "pipelines")
		for pipe, w := range map[string]string{"traces": want.traces, "metrics": want.metrics} {
			got := ""
			if p, ok := pipes[pipe].(map[string]any); ok {
				got = fmt.Sprint(p["receivers"], " ", p["processors"], " ", p["exporters"])
			}
			if got != w {
				t.Errorf("%s %s pipeline %q, want %q", name, pipe, got, w)
			}
		}
		hs := dig(root, "processors", "healthscore")
		if (name == "C") != (hs != nil && hs["breaker"] == "breaker") {
			t.Errorf("%s: healthscore %v", name, hs)
		}
		if got := dig(root, "receivers", "otlp", "protocols", "grpc")["endpoint"]; got != "127.0.0.1:30001" {
			t.Errorf("%s: OTLP endpoint %v", name, got)
		}
	}
}

func TestOverlayMerges(t *testing.T) {
	cfg := configC(ports{OTLP: 1, Telemetry: 2, Prometheus: 3, Breaker: 4, BreakerGRPC: 5}, true)
	var overlay node
	if err := yaml.Unmarshal([]byte("processors: {healthscore: {metrics: {health.root_cause: {enabled: false}}}}\nexporters: {prometheus: {metric_expiration: 5m}}\n"), &overlay); err != nil {
		t.Fatal(err)
	}
	merge(cfg, overlay)
	hs := dig(cfg, "processors", "healthscore")
	if hs["breaker"] != "breaker" || dig(hs, "metrics", "health.root_cause")["enabled"] != false {
		t.Errorf("healthscore after the overlay: %v", hs)
	}
	prom := dig(cfg, "exporters", "prometheus")
	if prom["metric_expiration"] != "5m" || prom["endpoint"] != "127.0.0.1:3" {
		t.Errorf("prometheus after the overlay: %v", prom)
	}
}

func TestQuantileAndMedian(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if got := quantile(ds, 0.99); got != 100*time.Millisecond {
		t.Errorf("p99 of 1..100 ms = %v", got)
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("quantile sorted its input")
	}
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median %v", got)
	}
	if got := median([]float64{4, 1, 2, 3}); got != 2.5 {
		t.Errorf("median of an even count %v", got)
	}
	if median(nil) != 0 || quantile(nil, 0.5) != 0 {
		t.Error("empty input")
	}
}

func TestCheckTakesTheMedianOfTheRoundsRatios(t *testing.T) {
	var results []result
	// Round 2 met a burst of the machine's other work on D alone: its ratio is an outlier.
	for i, cpu := range [][2]float64{{3, 3.6}, {3, 9}, {4, 4.8}, {2, 2.5}, {3, 3.9}} {
		results = append(results,
			result{Config: "A", Round: i + 1, CPUPerMillion: cpu[0], IdleMsPerSec: 0.7},
			result{Config: "D", Round: i + 1, CPUPerMillion: cpu[1], IdleMsPerSec: []float64{1.5, 9, 1.4, 1.6, 1.5}[i]})
	}
	ratios, idle := roundFigures(results, "")
	if want := []float64{1.2, 3, 1.2, 1.25, 1.3}; !slices.EqualFunc(ratios, want, func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }) {
		t.Errorf("ratios %v, want %v", ratios, want)
	}
	if len(idle) != 5 {
		t.Errorf("idle %v", idle)
	}
	o := options{binaries: []namedBinary{{}}, maxDOverA: 1.25, maxIdleMs: 2}
	if !check(o, results) {
		t.Error("median D/A 1.25 and idle 1.5 ms/s fail the goals 1.25 and 2")
	}
	o.maxDOverA = 1.2
	if check(o, results) {
		t.Error("median D/A 1.25 passes the goal 1.2")
	}
	o.maxDOverA, o.maxIdleMs = 1.25, 1.45
	if check(o, results) {
		t.Error("median idle 1.5 ms/s passes the goal 1.45")
	}
}

// TestSweepRatiosArePairedWithinRounds checks that the sweep's growth and ratio to A are taken
// within each round before the median: a round in which the machine ran everything twice as
// slow leaves them alone.
func TestSweepRatiosArePairedWithinRounds(t *testing.T) {
	o := options{sweep: []int{10, 10000}, sweepShapes: []string{"agent"}, sweepConfigs: []string{"A", "C"},
		binaries: []namedBinary{{}}}
	var sweep []result
	for round, slow := range []float64{1, 2, 1.2} {
		for _, r := range []struct {
			config   string
			services int
			cpu      float64
		}{{"A", 10, 3}, {"A", 10000, 3.6}, {"C", 10, 4}, {"C", 10000, 7}} {
			sweep = append(sweep, result{Config: r.config, Shape: "agent", Services: r.services, Round: round + 1, CPUPerMillion: r.cpu * slow})
		}
	}
	out := captureStdout(t, func() { printSweep(o, sweep) })
	if !strings.Contains(out, "| agent | C | 10000 | 8.40 (7.00 14.00 8.40) | 1.75 (1.75 1.75 1.75) | 1.94 (1.94 1.94 1.94) |") {
		t.Errorf("sweep table:\n%s", out)
	}
}

func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	f()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A start whose port was taken before the collector bound it is tried again on other ports; a
// port that stays taken (here, set by an overlay) gives up after three starts.
func TestStartRetriesWhenAPortIsTaken(t *testing.T) {
	binary := os.Getenv("VIGIL_BINARY")
	if binary == "" {
		binary = filepath.Join("..", "..", "..", "_build", "otelcol-vigil")
	}
	if _, err := os.Stat(binary); err != nil {
		t.Fatalf("collector binary %s not found (run `make build` at the repository root, or set VIGIL_BINARY): %v", binary, err)
	}
	taken, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", taken))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	overlay := node{"receivers": node{"otlp": node{"protocols": node{"grpc": node{"endpoint": fmt.Sprintf("127.0.0.1:%d", taken)}}}}}
	_, err = startCollector(binary, t.TempDir(), "A-taken", specs["A"], "", false, overlay)
	if !errors.Is(err, errPortTaken) || !strings.Contains(err.Error(), "3 starts") {
		t.Fatalf("want errPortTaken after 3 starts, got %v", err)
	}

	c, err := startCollector(binary, t.TempDir(), "A", specs["A"], "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.stop()
}
