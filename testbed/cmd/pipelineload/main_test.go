package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

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
	w, err := newWorkload(10, 10000)
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
	out, err := defaultConfig(p, string(text))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "localhost:") {
		t.Errorf("a localhost port is left:\n%s", out)
	}
	for _, want := range []string{"127.0.0.1:30001", "127.0.0.1:30003", "127.0.0.1:30004", "127.0.0.1:30005"} {
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
