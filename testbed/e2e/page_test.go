package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/testbed/harness"
)

// ArtifactsEnv names the folder where browser tests keep their screenshots (default
// _build/artifacts, git-ignored).
const ArtifactsEnv = "VIGIL_ARTIFACTS"

// chromium returns Debian's Chromium, or skips the test saying how to get it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("Chromium is not installed: `apt-get install -y chromium` (.ci/run installs it); the status page test needs a real browser")
	return ""
}

// browser starts headless Chromium with the flags this machine needs (no sandbox as root, no
// GPU, no background connections to a network that is closed) and a fresh profile.
func browser(t *testing.T, path string) (context.Context, context.CancelFunc) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1600, 1000),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	return ctx, func() {
		tcancel()
		cancel()
		acancel()
	}
}

func artifactDir(t *testing.T) string {
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		dir = filepath.Join(harness.RepoRoot(), "_build", "artifacts")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// fleet sends SERVER spans of n services every second, so the status holds n more components.
func fleet(t *testing.T, otlp *harness.OTLP, n int) (stop func()) {
	return harness.Repeat(time.Second, func() bool {
		td := ptrace.NewTraces()
		now := time.Now()
		for i := range n {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%04d", i))
			spans := rs.ScopeSpans().AppendEmpty().Spans()
			for j := range 3 {
				sp := spans.AppendEmpty()
				sp.SetName("op")
				sp.SetKind(ptrace.SpanKindServer)
				sp.SetTraceID(pcommon.TraceID([16]byte{byte(i), byte(i >> 8), byte(j), 9}))
				sp.SetSpanID(pcommon.SpanID([8]byte{byte(i), byte(i >> 8), byte(j), 9}))
				sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-15 * time.Millisecond)))
				sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
			}
		}
		if err := otlp.Traces(td); err != nil {
			t.Errorf("fleet export: %v", err)
			return false
		}
		return true
	})
}

// TestStatusPageInChromium loads the status page of the built binary in headless Chromium, with
// a thousand services and one failing, and checks what a person would see: the overall verdict,
// every component, the failing one first with its incident and root cause, its dependency graph,
// the incident's timeline, and a live update from the watch stream, all under the page's strict
// Content-Security-Policy with no script error. A screenshot is kept as an artifact.
func TestStatusPageInChromium(t *testing.T) {
	path := chromium(t)
	v := startStatusVigil(t)
	stopFleet := fleet(t, v.otlp, 1000)
	defer stopFleet()

	// Healthy first (the breakers learn what normal is), then checkout fails; wait until the API
	// tells it, with 1,000 more services scored.
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		var doc struct {
			Components []struct{ Status string } `json:"components"`
		}
		getJSON(ct, v.base+"/v1/status?service=checkout", &doc)
		if assert.Len(ct, doc.Components, 1) {
			assert.Equal(ct, "healthy", doc.Components[0].Status)
		}
	}, 30*time.Second, 250*time.Millisecond)
	v.probeBad.Store(true)
	v.shop.failing.Store(true)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		var list struct{ Incidents []incidentDoc }
		getJSON(ct, v.base+"/v1/incidents?service=checkout&state=open", &list)
		if assert.Len(ct, list.Incidents, 1) {
			inc := list.Incidents[0]
			assert.True(ct, inc.has("breaker", "open") && inc.has("probe", "failing") && inc.has("score", "unhealthy"), "%v", inc.Events)
		}
		var doc struct {
			Overall struct{ Components int } `json:"overall"`
		}
		getJSON(ct, v.base+"/v1/status?limit=1", &doc)
		assert.GreaterOrEqual(ct, doc.Overall.Components, 1003)
	}, 60*time.Second, 250*time.Millisecond)

	began := time.Now()
	ctx, cancel := browser(t, path)
	defer cancel()
	// Everything the page writes to the console, throws, or the browser logs about it (a
	// policy violation is such an entry), collected until the browser goes.
	var (
		problems []string
		mu       sync.Mutex
		reading  sync.WaitGroup
	)
	messages := chromedp.Console(ctx)
	reading.Go(func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.Type == chromedp.ConsoleException {
				mu.Lock()
				problems = append(problems, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	})
	defer reading.Wait()

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(v.base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-loaded="true"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#timeline li`)),
		chromedp.WaitVisible(chromedp.CSS(`#graph svg g.node`)),
		chromedp.WaitVisible(chromedp.CSS(`#live.on`)),
	))
	t.Logf("page loaded with its watch stream live in %s", time.Since(began).Round(time.Millisecond))
	text := func(sel string) string {
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return v
	}
	eval := func(js string) any {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](js))
		require.NoError(t, err, js)
		return v
	}
	count := func(sel string) int {
		return int(eval(`document.querySelectorAll(` + strconvQuote(sel) + `).length`).(float64))
	}
	first := `document.querySelector("#components tbody tr")`
	assert.Equal(t, "unhealthy", text(`#overall-status`), "checkout is critical and unhealthy")
	assert.Contains(t, text(`#overall-counts`), "components")
	assert.GreaterOrEqual(t, count(`#components tbody tr`), 1003, "every component is listed (1,000 services, the shop)")
	assert.Equal(t, "checkout", eval(first+`.dataset.name`), "the worst component comes first")
	assert.Equal(t, "unhealthy", eval(first+`.dataset.status`))
	assert.Regexp(t, `^#\d+$`, eval(first+`.cells[5].textContent`), "its open incident")
	assert.Equal(t, "checkout", eval(first+`.cells[6].textContent`), "its root cause")
	detail := text(`#detail`)
	assert.Contains(t, detail, "breaker")
	assert.Contains(t, detail, "signal probe")
	assert.GreaterOrEqual(t, count(`#incidents li[data-id]`), 1)
	assert.GreaterOrEqual(t, count(`#timeline li`), 3, "probe, score, breaker at least")
	assert.GreaterOrEqual(t, count(`#graph svg g.node`), 2, "checkout and frontend, which calls it")
	assert.Equal(t, "live", text(`#live`))

	// The filter narrows the table.
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#filter`), "svc-000")))
	assert.Equal(t, 10, count(`#components tbody tr`), "svc-0000 to svc-0009")

	// Live: an operator forces catalog's breaker open; the page shows it without a reload.
	req, err := http.NewRequest(http.MethodPut, v.base+"/v1/breakers/catalog/override", strings.NewReader(`{"mode":"forced_open"}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	filter := func(v string) {
		eval(`(() => { const f = document.getElementById("filter"); f.value = ` + strconvQuote(v) + `; f.dispatchEvent(new Event("input")); return true; })()`)
	}
	filter("catalog")
	_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](
		`(() => { const r = document.querySelector('#components tbody tr[data-name="catalog"]'); return r && r.cells[3].textContent === "forced_open"; })()`,
		chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, "the watch stream brought the override to the page")

	filter("")
	screenshot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	shot := filepath.Join(artifactDir(t), "status-page.png")
	require.NoError(t, os.WriteFile(shot, screenshot, 0o644))
	t.Logf("screenshot: %s (%d bytes)", shot, len(screenshot))

	cancel()
	reading.Wait()
	mu.Lock()
	assert.Empty(t, problems, "no script error and no policy violation")
	mu.Unlock()

	cancel()
	stopFleet()
	v.stopTraffic()
	require.Equal(t, 0, v.Stop(t), "exit code after SIGTERM; logs:\n%s", v.Logs())
}

func strconvQuote(s string) string { return strconv.Quote(s) }
