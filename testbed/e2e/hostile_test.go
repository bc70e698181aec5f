package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-collector/vigil/testbed/harness"
	"github.com/vigil-collector/vigil/testbed/hostile"
)

// TestHostileTelemetryIsBounded is the short form of `make testbed`'s hostile suite: every shipped
// config, attacked over OTLP/gRPC and OTLP/HTTP with 20,000 distinct service names, 20 requests
// carrying a 1 MiB service name and names with control and bidi characters, stays within the
// goals (RSS at most 300 MiB above idle, a Prometheus page of at most 20 MB without raw control
// bytes) and the legitimate services sending all along keep their health scores. The scrape time
// is logged, not asserted (the full run checks it).
func TestHostileTelemetryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile suite: about 35 s per config")
	}
	bin := harness.Binary(t)
	for _, name := range []string{"default", "gateway", "agent"} {
		t.Run(name, func(t *testing.T) {
			res, err := hostile.RunCardinality(context.Background(), hostile.CardinalityOptions{
				Binary: bin, RepoRoot: harness.RepoRoot(), Config: name, Dir: t.TempDir(),
				Names: 20_000, PerBatch: 1000, Workers: 2, Huge: 20, HugeSize: 1 << 20,
				Warm: 12 * time.Second, Settle: 17 * time.Second, RSSCeiling: 2 << 30,
			})
			if res != nil {
				var b strings.Builder
				hostile.Table(&b, name, res.Rows)
				t.Logf("\n%s", b.String())
			}
			if err != nil {
				t.Fatalf("%v\nlogs:\n%s", err, tail(res))
			}
			var problems []string
			for _, p := range res.Verdict() {
				if !strings.Contains(p, "scrape") {
					problems = append(problems, p)
				}
			}
			if len(problems) > 0 {
				t.Errorf("not bounded: %s\nlogs:\n%s", strings.Join(problems, "; "), tail(res))
			}
			if res.Rows[len(res.Rows)-1].Refused == 0 {
				t.Errorf("the guard refused nothing: the attack did not reach the bound")
			}
		})
	}
}

func tail(res *hostile.CardinalityResult) string {
	if res == nil {
		return ""
	}
	l := res.Logs
	if len(l) > 4000 {
		l = l[len(l)-4000:]
	}
	return l
}

// TestProbeRedirectElsewhereIsRefused: a probed target with a configured Authorization header
// answers 302 to another port. The built binary, even with follow_redirects on, reports the
// target down with error.type=redirect and the redirect's destination receives nothing.
func TestProbeRedirectElsewhereIsRefused(t *testing.T) {
	dest, err := hostile.NewHeaderRecorder()
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	target, err := hostile.NewRedirectTarget(dest.URL + "/steal")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	tmpl := strings.Replace(baseConfig, "      - name: nothing-listens\n", `      - name: redirector
        type: http
        endpoint: `+target.URL+`/healthz
        http:
          follow_redirects: true
          headers: {Authorization: "Bearer probe-secret"}
      - name: nothing-listens
`, 1)
	v := startVigil(t, nil, outputs, tmpl)
	deadline := time.Now().Add(20 * time.Second)
	var page string
	for time.Now().Before(deadline) {
		page, _ = harness.Scrape(v.url(v.ports.Prom, "/metrics"))
		if len(target.Received()) >= 2 && strings.Contains(page, `healthcheck_target="redirector"`) &&
			strings.Contains(page, `error_type="redirect"`) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := len(target.Received()); n < 2 {
		t.Fatalf("the target was probed %d times", n)
	}
	if got := target.Received()[0].Get("Authorization"); got != "Bearer probe-secret" {
		t.Errorf("the configured origin gets the header, got %q", got)
	}
	if got := dest.Received(); len(got) != 0 {
		t.Errorf("the redirect destination was contacted %d times (first with Authorization %q)", len(got), got[0].Get("Authorization"))
	}
	var status string
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, "healthcheck_status") && strings.Contains(line, `healthcheck_target="redirector"`) {
			status = line
		}
	}
	if !strings.HasSuffix(status, " 0") {
		t.Errorf("the redirecting target must be reported down, got %q", status)
	}
	if !strings.Contains(page, `error_type="redirect"`) {
		t.Errorf("no healthcheck_error with error_type=redirect on the page")
	}
}
