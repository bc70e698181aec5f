package statusextension

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/vigil-collector/vigil/extension/statusextension/internal/metadata"
	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
	"github.com/vigil-collector/vigil/internal/proctest"
)

var t0 = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

// startStatus starts the extension through its factory on a free loopback port.
func startStatus(t *testing.T, mutate ...func(*Config)) (*statusExtension, string) {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = proctest.FreeAddr(t)
	for _, m := range mutate {
		m(cfg)
	}
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext.(*statusExtension), "http://" + cfg.NetAddr.Endpoint
}

type answer struct {
	code   int
	header http.Header
	raw    []byte
	body   map[string]any
}

func get(t *testing.T, url string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{code: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(raw, &a.body), "%s", raw)
	}
	return a
}

func publishExample(p statusfeed.Publisher) {
	p.PublishScores(&statusfeed.Pass{At: t0, Healthy: 0.9, Degraded: 0.5, Components: []statusfeed.Component{
		{Name: "checkout", Known: true, Score: 0.2, Status: "unhealthy", Signals: []statusfeed.Signal{{Name: "errors", Value: 0.1}, {Name: "probe", Value: 0}}},
		{Name: "web", Known: true, Score: 0.95, Status: "healthy"},
		{Name: "cart", Known: true, Score: 0.7, Status: "degraded"},
		{Name: "quiet", Status: "unknown"},
	}, Edges: []statusfeed.Edge{{Caller: "web", Callee: "checkout", CallsPerSecond: 5, ErrorRatio: 0.5, LatencyP95: 300 * time.Millisecond}}})
}

func TestStatusAPI(t *testing.T) {
	e, base := startStatus(t)
	a := get(t, base+"/v1/status")
	require.Equal(t, http.StatusOK, a.code)
	assert.Nil(t, a.body["updated_at"], "nothing published yet")
	assert.Empty(t, a.body["components"])

	publishExample(e)
	a = get(t, base+"/v1/status")
	require.Equal(t, http.StatusOK, a.code, "%s", a.raw)
	etag := a.header.Get("ETag")
	require.NotEmpty(t, etag)
	comps := a.body["components"].([]any)
	require.Len(t, comps, 4)
	overall := a.body["overall"].(map[string]any)
	assert.Equal(t, "degraded", overall["status"])
	assert.Equal(t, 1.0, overall["open_incidents"])

	// Polling with the ETag: 304, no body, until something changes.
	a = get(t, base+"/v1/status", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, a.code)
	assert.Empty(t, a.raw)
	e.PublishTransition(statusfeed.Transition{Target: "checkout", From: "closed", To: "open", Mode: "auto", Reason: "failure_rate", At: t0})
	a = get(t, base+"/v1/status", "If-None-Match", etag)
	assert.Equal(t, http.StatusOK, a.code)
	assert.NotEqual(t, etag, a.header.Get("ETag"))

	a = get(t, base+"/v1/status?status=unhealthy,degraded")
	comps = a.body["components"].([]any)
	require.Len(t, comps, 2)
	assert.Equal(t, "cart", comps[0].(map[string]any)["name"])
	c := comps[1].(map[string]any)
	assert.Equal(t, "checkout", c["name"])
	assert.Equal(t, "open", c["breaker"].(map[string]any)["state"])
	assert.Equal(t, 0.1, c["signals"].(map[string]any)["errors"])
	dependents := c["dependents"].([]any)
	require.Len(t, dependents, 1)
	assert.Equal(t, "web", dependents[0].(map[string]any)["service"])
	assert.Equal(t, 0.3, dependents[0].(map[string]any)["latency_p95_seconds"])

	a = get(t, base+"/v1/status?service=web")
	require.Len(t, a.body["components"], 1)
	a = get(t, base+"/v1/status?limit=2")
	assert.Len(t, a.body["components"], 2)
	assert.Equal(t, "checkout", a.body["next"])
	a = get(t, base+"/v1/status?limit=2&after=checkout")
	assert.Equal(t, "quiet", a.body["components"].([]any)[0].(map[string]any)["name"])
	assert.Nil(t, a.body["next"])
}

func TestHealthForLoadBalancers(t *testing.T) {
	e, base := startStatus(t)
	publishExample(e)
	a := get(t, base+"/v1/health/web")
	assert.Equal(t, http.StatusOK, a.code)
	assert.Equal(t, true, a.body["healthy"])
	assert.Equal(t, "no-store", a.header.Get("Cache-Control"))
	a = get(t, base+"/v1/health/cart")
	assert.Equal(t, http.StatusOK, a.code, "degraded still takes traffic")
	a = get(t, base+"/v1/health/quiet")
	assert.Equal(t, http.StatusOK, a.code, "unknown: no evidence against it")
	assert.Contains(t, a.body["reason"], "unknown")
	a = get(t, base+"/v1/health/checkout")
	assert.Equal(t, http.StatusServiceUnavailable, a.code)
	assert.Contains(t, a.body["reason"], "below the degraded cut-off")
	assert.Contains(t, a.body["reason"], "weakest signal probe")
	e.PublishTransition(statusfeed.Transition{Target: "web", From: "closed", To: "forced_open", Mode: "forced_open", Reason: "override", At: t0})
	a = get(t, base+"/v1/health/web")
	assert.Equal(t, http.StatusServiceUnavailable, a.code, "a breaker that refuses calls")
	assert.Contains(t, a.body["reason"], "breaker forced_open")
	a = get(t, base+"/v1/health/nobody")
	assert.Equal(t, http.StatusNotFound, a.code)
	assert.Contains(t, a.body["error"], "unknown service")
	// HEAD works too (HAProxy's option httpchk may use it).
	resp, err := http.Head(base + "/v1/health/checkout")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

func TestIncidentsAPI(t *testing.T) {
	e, base := startStatus(t)
	publishExample(e)
	e.PublishHealing(statusfeed.HealingDecision{At: t0.Add(time.Second), Incident: "abc", Rule: "service-unhealthy",
		Target: "checkout", Decision: "dry_run", Action: "notify", DryRun: true})
	a := get(t, base+"/v1/incidents")
	require.Equal(t, http.StatusOK, a.code)
	list := a.body["incidents"].([]any)
	require.Len(t, list, 1)
	inc := list[0].(map[string]any)
	assert.Equal(t, "checkout", inc["service"])
	assert.Equal(t, "open", inc["state"])
	events := inc["events"].([]any)
	require.Len(t, events, 3) // probe failing, score unhealthy, healing dry run
	assert.Equal(t, "probe", events[0].(map[string]any)["kind"])
	assert.Equal(t, "healing", events[2].(map[string]any)["kind"])
	assert.Equal(t, "notify", inc["last_action"].(map[string]any)["action"])

	id := inc["id"].(string)
	a = get(t, base+"/v1/incidents/"+id)
	assert.Equal(t, http.StatusOK, a.code)
	assert.Equal(t, id, a.body["id"])
	a = get(t, base+"/v1/incidents?service=web")
	assert.Empty(t, a.body["incidents"])
	a = get(t, base+"/v1/incidents?state=resolved")
	assert.Empty(t, a.body["incidents"])

	for _, tt := range []struct {
		path string
		code int
		want string
	}{
		{"/v1/incidents/999", 404, "no incident"},
		{"/v1/incidents/abc", 400, "id:"},
		{"/v1/incidents?state=maybe", 400, "state:"},
		{"/v1/incidents?limit=0", 400, "limit:"},
		{"/v1/incidents?limit=101", 400, "limit:"},
		{"/v1/incidents?before=x", 400, "before:"},
		{"/v1/status?status=sad", 400, "status:"},
		{"/v1/status?limit=10001", 400, "limit:"},
		{"/v1/status?limit=-1", 400, "limit:"},
		{"/v1/status?service=%00", 400, "service:"},
		{"/v1/health/" + strings.Repeat("x", 300), 400, "service:"},
		{"/v1/watch?events=everything", 400, "events:"},
		{"/v1/watch?service=a&target=b", 400, "target:"},
		{"/v1/watch?caller=a%E2%86%92b", 400, "caller:"},
		{"/v1/watch?caller=%00", 400, "caller:"},
		{"/v1/dependencies?service=%0A", 400, "service:"},
		{"/v2/nothing", 404, "no such endpoint"},
	} {
		a := get(t, base+tt.path)
		assert.Equal(t, tt.code, a.code, tt.path)
		require.NotNil(t, a.body, "%s: error bodies are JSON", tt.path)
		assert.Contains(t, a.body["error"], tt.want, tt.path)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/status", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestDependenciesAPI(t *testing.T) {
	e, base := startStatus(t)
	a := get(t, base+"/v1/dependencies")
	assert.Nil(t, a.body["updated_at"])
	assert.Empty(t, a.body["edges"])
	publishExample(e)
	a = get(t, base+"/v1/dependencies")
	assert.Equal(t, "2026-11-30T10:00:00Z", a.body["updated_at"])
	edges := a.body["edges"].([]any)
	require.Len(t, edges, 1)
	assert.Equal(t, "web", edges[0].(map[string]any)["caller"])
	assert.Equal(t, 0.5, edges[0].(map[string]any)["error_ratio"])
	a = get(t, base+"/v1/dependencies?service=checkout")
	assert.Len(t, a.body["edges"], 1)
	a = get(t, base+"/v1/dependencies?service=cart")
	assert.Empty(t, a.body["edges"])
}

// watch opens the watch stream at url (for 10 s at most, closed when the test ends) and returns
// its lines past the first, the stream's opening.
func watch(t *testing.T, url string) *bufio.Scanner {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	lines := bufio.NewScanner(resp.Body)
	require.True(t, lines.Scan())
	return lines
}

// nextEvent reads lines up to the next event's data and returns the event's name and data;
// false when the stream ends first.
func nextEvent(t *testing.T, lines *bufio.Scanner) (string, map[string]any, bool) {
	t.Helper()
	var event string
	for lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(v), &m))
			return event, m, true
		}
	}
	return "", nil, false
}

func TestWatchStream(t *testing.T) {
	e, base := startStatus(t)
	lines := watch(t, base+"/v1/watch?service=checkout&events=incident,transition")
	publishExample(e)
	e.PublishTransition(statusfeed.Transition{Target: "checkout", From: "closed", To: "open", Mode: "auto", Reason: "failure_rate", At: t0})
	var got []string
	for len(got) < 3 {
		event, m, ok := nextEvent(t, lines)
		if !ok {
			break
		}
		if event == "incident" {
			got = append(got, event+":"+m["state"].(string))
		} else {
			got = append(got, event+":"+m["to"].(string))
		}
	}
	// The probe opened the incident; the score fell within the same pass; then the breaker.
	assert.Equal(t, []string{"incident:opened", "incident:updated", "transition:open"}, got)
}

// A transition of one caller's own view of a callee reaches only that caller's watchers, and
// leaves the component's breaker (the fleet-wide one) as it was.
func TestWatchCallerViews(t *testing.T) {
	e, base := startStatus(t)
	publishExample(e)
	open := func(query string) func() map[string]any {
		lines := watch(t, base+"/v1/watch?events=transition"+query)
		return func() map[string]any {
			_, m, ok := nextEvent(t, lines)
			if !ok {
				t.Fatal("stream ended")
			}
			return m
		}
	}
	web, cart, fleet := open("&caller=web"), open("&caller=cart"), open("")
	e.PublishTransition(statusfeed.Transition{Target: "checkout", Caller: "web", From: "closed", To: "open", Mode: "auto", Reason: "failure_rate", At: t0})
	e.PublishTransition(statusfeed.Transition{Target: "checkout", Caller: "cart", From: "closed", To: "open", Mode: "auto", Reason: "failure_rate", At: t0})
	e.PublishTransition(statusfeed.Transition{Target: "cart", From: "closed", To: "open", Mode: "auto", Reason: "failure_rate", At: t0})

	m := web()
	assert.Equal(t, "checkout", m["target"])
	assert.Equal(t, "web", m["caller"])
	assert.Equal(t, "cart", web()["target"], "then the fleet-wide transition")
	assert.Equal(t, "cart", cart()["caller"])
	m = fleet()
	assert.Equal(t, "cart", m["target"], "a stream without caller sees no caller's view")
	assert.Nil(t, m["caller"])

	a := get(t, base+"/v1/status?service=checkout")
	comp := a.body["components"].([]any)[0].(map[string]any)
	assert.Nil(t, comp["breaker"], "a caller's own view is not the component's breaker")
	a = get(t, base+"/v1/incidents?service=checkout")
	for _, inc := range a.body["incidents"].([]any) {
		for _, ev := range inc.(map[string]any)["events"].([]any) {
			assert.NotEqual(t, "breaker", ev.(map[string]any)["kind"], "nor joins its incident's timeline")
		}
	}

	before := e.hub.Dropped()
	e.PublishTransition(statusfeed.Transition{Target: "checkout", Caller: "\x00", To: "open"})
	assert.Equal(t, before+1, e.hub.Dropped())
}

func TestPageIsServedUnderAStrictPolicy(t *testing.T) {
	_, base := startStatus(t)
	for _, path := range []string{"/", "/ui/app.js", "/ui/app.css"} {
		a := get(t, base+path)
		require.Equal(t, http.StatusOK, a.code, path)
		assert.Equal(t, pageCSP, a.header.Get("Content-Security-Policy"), path)
		assert.Equal(t, "nosniff", a.header.Get("X-Content-Type-Options"), path)
	}
	a := get(t, base+"/")
	assert.Contains(t, string(a.raw), `<script src="ui/app.js" defer></script>`)
	assert.NotContains(t, string(a.raw), "http://", "no external assets")
	assert.NotContains(t, string(a.raw), "https://")
	assert.Equal(t, http.StatusNotFound, get(t, base+"/ui/other.js").code)

	_, base = startStatus(t, func(c *Config) { c.Page.Enabled = false })
	assert.Equal(t, http.StatusNotFound, get(t, base+"/").code)
}

func TestRouterMountsAndRefusesConflicts(t *testing.T) {
	e, base := startStatus(t)
	require.NoError(t, e.Handle("GET /v1/things", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "mounted")
	})))
	assert.Equal(t, "mounted", string(get(t, base+"/v1/things").raw))
	err := e.Handle("GET /v1/status", http.NotFoundHandler())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/v1/status")
	assert.Error(t, e.Handle("GET /x", nil))
	assert.Error(t, e.Handle("BAD PATTERN WITH SPACES", http.NotFoundHandler()))
}

func TestFindNamesWhatIsMissing(t *testing.T) {
	id := component.MustNewID("status")
	pub, err := statusfeed.Find(componenttest.NewNopHost(), component.ID{})
	assert.NoError(t, err)
	assert.Nil(t, pub)
	_, err = statusfeed.Find(componenttest.NewNopHost(), id)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `status extension "status" not found`)
}
