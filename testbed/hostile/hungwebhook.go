package hostile

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/testbed/internal/loopback"
	"github.com/vigil-collector/vigil/testbed/internal/otlp"
)

// hungConfig: two rules, one paging a webhook that never answers, one writing a log record.
const hungConfig = `
extensions:
  healthcheckv2:
    use_v2: true
    component_health: {include_permanent_errors: true, include_recoverable_errors: true, recovery_duration: 1s}
    http:
      endpoint: 127.0.0.1:%[1]d
      status: {enabled: true, path: /health/status}
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:%[2]d}
exporters:
  healing:
    audit: {path: %[3]s}
    limits:
      global: {per_minute: 60000, burst: 10000}
      per_action: {per_minute: 60000, burst: 10000}
    actions:
      hook: {type: webhook, webhook: {url: "%[4]s/hook", timeout: 2s, max_retries: 0}}
      log: {type: log}
    rules:
      - {name: to-hook, when: {metric: app.down, op: "==", threshold: 1}, actions: [hook]}
      - {name: to-log, when: {metric: app.slow, op: "==", threshold: 1}, actions: [log]}
service:
  extensions: [healthcheckv2]
  telemetry:
    metrics:
      readers:
        - pull: {exporter: {prometheus: {host: 127.0.0.1, port: %[5]d}}}
    logs: {level: error}
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [healing]
`

// HungResult is what the hung-webhook scenario measured.
type HungResult struct {
	HookAlerts, LogAlerts int
	LogExecuted           int    // log actions executed
	LogQueueFull          int    // log actions suppressed(queue_full)
	HookQueueFull         int    // hook actions suppressed(queue_full)
	Pending               string // otelcol_healing_pending lines
	OldestAge             string // otelcol_healing_pending_oldest_age lines
	Health                string // the healing exporter's status on /health/status
}

// RunHungWebhook sends hookAlerts distinct alerts for a rule whose webhook hangs, then logAlerts for
// a rule with a log action, waits settle, and reads the audit file, the collector's own telemetry
// and its health endpoint.
func RunHungWebhook(ctx context.Context, binary, dir string, hookAlerts, logAlerts int, settle time.Duration) (*HungResult, error) {
	hook, err := NewHungWebhook()
	if err != nil {
		return nil, err
	}
	defer hook.Close()
	var health, grpcPort, tel int
	for _, p := range []*int{&health, &grpcPort, &tel} {
		if *p, err = loopback.FreePort(); err != nil {
			return nil, err
		}
	}
	auditPath := filepath.Join(dir, "audit.jsonl")
	cfgPath := filepath.Join(dir, "hung.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(hungConfig, health, grpcPort, auditPath, hook.URL, tel)), 0o600); err != nil {
		return nil, err
	}
	col, err := StartCollector(binary, cfgPath, nil)
	if err != nil {
		return nil, err
	}
	defer col.Stop(30 * time.Second)
	healthURL := fmt.Sprintf("http://127.0.0.1:%d/health/status", health)
	if err := col.WaitReady(healthURL, 30*time.Second); err != nil {
		return nil, err
	}
	s, err := NewSender(GRPC, fmt.Sprintf("127.0.0.1:%d", grpcPort), "")
	if err != nil {
		return nil, err
	}
	defer s.Close()
	sendAlerts(ctx, s, "app.down", "hooked", hookAlerts)
	sleepCtx(ctx, time.Second)
	sendAlerts(ctx, s, "app.slow", "logged", logAlerts)
	sleepCtx(ctx, settle)

	res := &HungResult{HookAlerts: hookAlerts, LogAlerts: logAlerts}
	if err := res.readAudit(auditPath); err != nil {
		return res, err
	}
	if err := res.readPending(fmt.Sprintf("http://127.0.0.1:%d/metrics", tel)); err != nil {
		return res, err
	}
	if hb, err := fetch(healthURL+"?verbose", 5*time.Second); err == nil {
		res.Health = healingStatus(hb)
	} else if hb, err2 := fetchAny(healthURL + "?verbose"); err2 == nil {
		res.Health = healingStatus(hb)
	}
	return res, nil
}

// sendAlerts sends one gauge point of 1 for metric from each of n services named prefix-00000
// and on, 500 services a request.
func sendAlerts(ctx context.Context, s *Sender, metric, prefix string, n int) {
	for start := 0; start < n; start += 500 {
		md := pmetric.NewMetrics()
		for i := start; i < min(n, start+500); i++ {
			dp := otlp.AppendGauge(md, metric, "", "service.name", fmt.Sprintf("%s-%05d", prefix, i)).AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
			dp.SetDoubleValue(1)
		}
		s.Send(ctx, ptrace.NewTraces(), md)
	}
}

// readAudit counts the executed and queue_full records of the audit file at path.
func (res *HungResult) readAudit(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r struct{ Decision, Reason, Action string }
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		switch {
		case r.Action == "log" && r.Decision == "executed":
			res.LogExecuted++
		case r.Action == "log" && r.Reason == "queue_full":
			res.LogQueueFull++
		case r.Action == "hook" && r.Reason == "queue_full":
			res.HookQueueFull++
		}
	}
	return nil
}

// readPending reads the healing exporter's pending gauges from the collector's own telemetry.
func (res *HungResult) readPending(telemetryURL string) error {
	body, err := fetch(telemetryURL, 10*time.Second)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(body), "\n") {
		switch {
		case strings.HasPrefix(line, "otelcol_healing_pending_oldest_age"):
			res.OldestAge += strings.TrimSpace(line) + "\n"
		case strings.HasPrefix(line, "otelcol_healing_pending"):
			res.Pending += strings.TrimSpace(line) + "\n"
		}
	}
	return nil
}

// healingStatus picks the healing exporter's status out of the health endpoint's verbose JSON.
func healingStatus(body []byte) string {
	var walk func(name string, v any) string
	walk = func(name string, v any) string {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		if strings.Contains(name, "healing") {
			if st, ok := m["status"].(string); ok {
				msg, _ := m["error"].(string)
				return strings.TrimSpace(st + " " + msg)
			}
		}
		for k, c := range m {
			if s := walk(k, c); s != "" {
				return s
			}
		}
		return ""
	}
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return ""
	}
	return walk("", doc)
}

// fetchAny reads a body whatever the status (the health endpoint answers 500 when unhealthy).
func fetchAny(url string) ([]byte, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
