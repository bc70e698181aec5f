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
