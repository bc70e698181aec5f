package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// statusConfig runs the whole chain a failing service goes through: probes and scores (scoring,
// probing checkout), breakers (statusAPI), predictions of the health score, and healing with a
// dry-run webhook; every component publishes into the status extension, Vigil's one API server.
const statusConfig = `
extensions:
  status:
    critical: [checkout]
processors:
  predict:
    status_extension: status
    warm_up: 0s
    warm_up_points: 3
    watch:
      - metric: health.score
        threshold: 0.5
        direction: below
        horizons: [1m]
        max_horizon: 1h
        min_value: 0
        max_value: 1
exporters:
  healing:
    status_extension: status
    audit:
      path: {{.Audit}}
    actions:
      notify:
        type: webhook
        dry_run: true
        webhook:
          url: http://127.0.0.1:9/vigil
    rules:
      - name: service-unhealthy
        when: {metric: health.score, op: "<", threshold: 0.5}
        for: 2s
        target: service.name
        actions: [notify]
        severity: critical
        summary: health score below 0.5
service:
  pipelines:
    traces:
      processors: [healthscore, batch]
    metrics:
      receivers: [otlp, healthcheck]
      processors: [healthscore, predict, batch]
      exporters: [healing]
    logs:
      receivers: [otlp]
      processors: [healthscore]
      exporters: [debug]
`

// statusVigil is a running binary on statusConfig, its probe target, and the shop's traffic.
type statusVigil struct {
	*vigil
	base        string // the status API's base URL
	probeBad    *atomic.Bool
	shop        *shop
	stopTraffic func() // stops the shop's traffic (before the binary stops, so no export fails)
}

func startStatusVigil(t *testing.T) *statusVigil {
	t.Helper()
	bad := new(atomic.Bool)
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if bad.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(probe.Close)
	v := startVigil(t, map[string]any{"Probed": "checkout", "ProbeURL": probe.URL, "Audit": filepath.Join(t.TempDir(), "audit.jsonl")},
		statusAPI, scoring, tracesToDebug, statusConfig, noTelemetry)
	s := &shop{t: t, otlp: v.otlp, r: rand.New(rand.NewPCG(3, 4))}
	sv := &statusVigil{vigil: v, base: v.url(v.ports.API, ""), probeBad: bad, shop: s, stopTraffic: s.run()}
	t.Cleanup(sv.stopTraffic)
	return sv
}

// getJSON reads one API answer.
func getJSON(t require.TestingT, url string, out any) int {
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), "%s", raw)
	}
	return resp.StatusCode
}

type timelineEvent struct {
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	Status   string    `json:"status"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Reason   string    `json:"reason"`
	Rule     string    `json:"rule"`
	Decision string    `json:"decision"`
	Action   string    `json:"action"`
	DryRun   bool      `json:"dry_run"`
}

func (e timelineEvent) String() string {
	return strings.Join(strings.Fields(fmt.Sprintf("%s %s %s %s %s %s", e.Kind, e.Status, e.To, e.Decision, e.Action, e.Reason)), " ")
}

type incidentDoc struct {
	ID         string          `json:"id"`
	Service    string          `json:"service"`
	State      string          `json:"state"`
	Cause      string          `json:"cause"`
	LastAction *timelineEvent  `json:"last_action"`
	Events     []timelineEvent `json:"events"`
}

func (inc incidentDoc) has(kind, what string) bool {
	for _, e := range inc.Events {
		if e.Kind == kind && (e.Status == what || e.To == what || e.Decision == what || what == "") {
			return true
		}
	}
	return false
}

func (inc incidentDoc) first(kind, what string) int {
	for i, e := range inc.Events {
		if e.Kind == kind && (e.Status == what || e.To == what || e.Decision == what) {
			return i
		}
	}
	return -1
}

// TestIncidentEndToEnd drives checkout through a failing probe, a score below the cut-off, an open
// breaker and a dry-run healing action on the built binary, then back to health, and reads the
// whole incident back from /v1/incidents, in order, with /v1/status and /v1/health agreeing.
func TestIncidentEndToEnd(t *testing.T) {
	v := startStatusVigil(t)

	// Healthy first.
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		var doc struct {
			Components []struct {
				Name, Status string
			} `json:"components"`
		}
		getJSON(ct, v.base+"/v1/status?service=checkout", &doc)
		if assert.Len(ct, doc.Components, 1) {
			assert.Equal(ct, "healthy", doc.Components[0].Status)
		}
		assert.Equal(ct, http.StatusOK, getJSON(ct, v.base+"/v1/health/checkout", nil))
	}, 30*time.Second, 250*time.Millisecond)

	// The health endpoint fails first: the probe signal drops, and with it the score.
	v.probeBad.Store(true)
	var inc incidentDoc
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		var list struct{ Incidents []incidentDoc }
		getJSON(ct, v.base+"/v1/incidents?service=checkout&state=open", &list)
		if assert.Len(ct, list.Incidents, 1) {
			inc = list.Incidents[0]
			assert.True(ct, inc.has("score", "unhealthy"), "%v", inc.Events)
		}
	}, 30*time.Second, 100*time.Millisecond)
	// Then its calls fail: the breaker opens, and the healing rule acts (dry run).
	v.shop.failing.Store(true)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		getJSON(ct, v.base+"/v1/incidents/"+inc.ID, &inc)
		assert.True(ct, inc.has("breaker", "open"), "%v", inc.Events)
		assert.True(ct, inc.has("healing", "dry_run"), "%v", inc.Events)
	}, 60*time.Second, 250*time.Millisecond)

	// While it lasts, the status and the load balancer's verdict agree.
	var health map[string]any
	assert.Equal(t, http.StatusServiceUnavailable, getJSON(t, v.base+"/v1/health/checkout", &health))
	t.Logf("GET /v1/health/checkout: 503 %v", health["reason"])
	var st struct {
		Overall struct {
			Status string   `json:"status"`
			Worst  []string `json:"worst"`
		} `json:"overall"`
		Components []struct {
			Name            string                  `json:"name"`
			Status          string                  `json:"status"`
			Incident        *string                 `json:"incident"`
			Breaker         *struct{ State string } `json:"breaker"`
			ActiveIncidents []struct {
				Rule, Outcome, Action string
			} `json:"active_incidents"`
			RootCause   []string         `json:"root_cause"`
			Predictions []map[string]any `json:"predictions"`
		} `json:"components"`
	}
	getJSON(t, v.base+"/v1/status?service=checkout", &st)
	require.Len(t, st.Components, 1)
	c := st.Components[0]
	assert.Equal(t, "unhealthy", c.Status)
	assert.Equal(t, "unhealthy", st.Overall.Status, "checkout is critical: it bounds the overall score")
	assert.Equal(t, []string{"checkout"}, st.Overall.Worst)
	require.NotNil(t, c.Incident)
	assert.Equal(t, inc.ID, *c.Incident)
	require.NotNil(t, c.Breaker)
	assert.Contains(t, []string{"open", "half_open"}, c.Breaker.State)
	if assert.Len(t, c.ActiveIncidents, 1) {
		assert.Equal(t, "service-unhealthy", c.ActiveIncidents[0].Rule)
		assert.Equal(t, "notify", c.ActiveIncidents[0].Action)
	}
	assert.Equal(t, []string{"checkout"}, c.RootCause)
	assert.NotEmpty(t, c.Predictions, "the health score's forecast is tied to the service")

	// Recovery: the probe passes, the calls succeed; the breaker closes, the rule resolves, and the
	// incident with it.
	v.probeBad.Store(false)
	v.shop.failing.Store(false)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		getJSON(ct, v.base+"/v1/incidents/"+inc.ID, &inc)
		assert.Equal(ct, "resolved", inc.State, "%v", inc.Events)
	}, 90*time.Second, 500*time.Millisecond)
	for _, e := range inc.Events {
		t.Logf("%s  %s", e.At.Format("15:04:05.000"), e)
	}

	// The whole story, in order.
	assert.Equal(t, "probe", inc.Cause)
	probe, score := inc.first("probe", "failing"), inc.first("score", "unhealthy")
	opened, dry := inc.first("breaker", "open"), inc.first("healing", "dry_run")
	fired := inc.first("healing", "fired")
	require.True(t, probe == 0 && score == 1, "probe failing, then score below the cut-off: %v", inc.Events)
	require.Greater(t, opened, score, "%v", inc.Events)
	require.Greater(t, dry, fired, "%v", inc.Events)
	require.Greater(t, fired, score, "%v", inc.Events)
	assert.True(t, inc.has("probe", "passing"), "%v", inc.Events)
	assert.True(t, inc.has("breaker", "closed"), "%v", inc.Events)
	assert.True(t, inc.has("healing", "resolved"), "%v", inc.Events)
	assert.Equal(t, "resolved", inc.Events[len(inc.Events)-1].Kind, "%v", inc.Events)
	for i := 1; i < len(inc.Events); i++ {
		assert.False(t, inc.Events[i].At.Before(inc.Events[i-1].At), "in time order: %v", inc.Events)
	}
	require.NotNil(t, inc.LastAction)
	assert.Equal(t, "notify", inc.LastAction.Action)
	assert.Equal(t, http.StatusOK, getJSON(t, v.base+"/v1/health/checkout", nil))
	v.stopTraffic()
	require.Equal(t, 0, v.Stop(t), "exit code after SIGTERM; logs:\n%s", v.Logs())
}

// TestLogsOnlyServiceIsScored: a service that sends no spans and no metrics, only logs, is scored
// from its ERROR and FATAL records (the events signal) on the built binary.
func TestLogsOnlyServiceIsScored(t *testing.T) {
	v := startStatusVigil(t)
	send := func(errors int) {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "batch-worker")
		recs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for i := range 20 {
			r := recs.AppendEmpty()
			r.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
			r.SetSeverityNumber(plog.SeverityNumberInfo)
			r.SetSeverityText("INFO")
			r.Body().SetStr(fmt.Sprintf("job %d done", i))
		}
		for range errors {
			r := recs.AppendEmpty()
			r.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
			r.SetSeverityNumber(plog.SeverityNumberError)
			r.SetSeverityText("ERROR")
			r.Body().SetStr("job failed: connection refused")
		}
		require.NoError(t, v.otlp.Logs(ld))
	}
	type comp struct {
		Status  string             `json:"status"`
		Signals map[string]float64 `json:"signals"`
	}
	read := func(ct *assert.CollectT) (comp, bool) {
		var doc struct{ Components []comp }
		getJSON(ct, v.base+"/v1/status?service=batch-worker", &doc)
		if !assert.Len(ct, doc.Components, 1) {
			return comp{}, false
		}
		return doc.Components[0], true
	}
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		send(0)
		if c, ok := read(ct); ok {
			assert.Equal(ct, "healthy", c.Status, "info logs only")
			assert.Equal(ct, 1.0, c.Signals["events"])
		}
	}, 30*time.Second, 500*time.Millisecond)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		send(200)
		if c, ok := read(ct); ok {
			assert.Equal(ct, "unhealthy", c.Status, "%v", c.Signals)
			assert.Less(ct, c.Signals["events"], 0.5)
		}
	}, 30*time.Second, 500*time.Millisecond)
	assert.Equal(t, http.StatusServiceUnavailable, getJSON(t, v.base+"/v1/health/batch-worker", nil))
	v.stopTraffic()
	require.Equal(t, 0, v.Stop(t), "exit code after SIGTERM; logs:\n%s", v.Logs())
}
