package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/testbed/harness"
)

// The verdicts scenario (issue: verdicts users can trust). A real OTLP client sends the spans of
// a three-service system — frontend calling catalog and checkout, each with its own database —
// to the built collector running the shipped default config (otelcol-config.yaml); a real
// Prometheus loads the shipped rules (deploy/prometheus/vigil-rules.yaml) and scrapes the
// collector; a CPU burner keeps the host busy throughout. The scenario checks, and measures:
//
//   - healthy phase (host busy, catalog's breaker forced open by an operator): no alert and no
//     healing decision at all;
//   - checkout's database fails half its calls: checkout alerts within its rule's `for` plus an
//     evaluation and a scrape of its status turning unhealthy; catalog stays healthy; the
//     database is named the root cause; the error-budget alert fires for the failing edges; the
//     automatic breaker open of the database runs the breaker-open action, the forced one of
//     catalog never does;
//   - recovery: the alert resolves within an evaluation plus a scrape of the status leaving
//     unhealthy, with one health_score series per service (nothing stale).
//
// Short form (make test): every `for` of the shipped Prometheus and healing rules is divided by
// scenarioScale, and the predict processor warms up in 20 s; the rules are otherwise the shipped
// text. VIGIL_SCENARIO=long runs the shipped durations unchanged (about 25 minutes).
const scenarioScale = 30

// Prometheus scrape and evaluation interval of the scenario.
const scenarioInterval = time.Second

// scaleFor divides every `for: <duration>` in a YAML text by k.
func scaleFor(t *testing.T, text string, k int) string {
	re := regexp.MustCompile(`(?m)^(\s*for: )(\d+[smh])\s*$`)
	return re.ReplaceAllStringFunc(text, func(line string) string {
		m := re.FindStringSubmatch(line)
		d, err := time.ParseDuration(m[2])
		require.NoError(t, err)
		return m[1] + (d / time.Duration(k)).String()
	})
}

// shopSystem sends the three-service system's spans every 100 ms: frontend serves /browse
// (calling catalog, which queries catalog-db) and /buy (calling checkout, which queries
// checkout-db), five of each per tick. While dbFailing, half of checkout-db's queries fail, and so
// do the checkout and frontend requests that made them. Every resource carries host.name, so the
// services are joined to the host's (busy) metrics.
type shopSystem struct {
	otlp      *harness.OTLP
	host      string
	dbFailing atomic.Bool
	r         *rand.Rand
	sent      atomic.Int64
	errs      atomic.Int64
	lastErr   atomic.Value
}

type spanOut struct {
	spans ptrace.SpanSlice
}

func (s *shopSystem) batch(now time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	res := map[string]*spanOut{}
	service := func(name string) ptrace.SpanSlice {
		if o, ok := res[name]; ok {
			return o.spans
		}
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", name)
		rs.Resource().Attributes().PutStr("host.name", s.host)
		o := &spanOut{spans: rs.ScopeSpans().AppendEmpty().Spans()}
		res[name] = o
		return o.spans
	}
	id := func() (pcommon.TraceID, pcommon.SpanID) {
		var t [16]byte
		var sp [8]byte
		for i := range t {
			t[i] = byte(s.r.IntN(256))
		}
		for i := range sp {
			sp[i] = byte(s.r.IntN(256))
		}
		return t, sp
	}
	span := func(svc, name string, kind ptrace.SpanKind, trace pcommon.TraceID, parent pcommon.SpanID, lat time.Duration, fail bool, peer string) pcommon.SpanID {
		_, sid := id()
		sp := service(svc).AppendEmpty()
		sp.SetName(name)
		sp.SetKind(kind)
		sp.SetTraceID(trace)
		sp.SetSpanID(sid)
		sp.SetParentSpanID(parent)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-lat)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
		if peer != "" {
			sp.Attributes().PutStr("peer.service", peer)
		}
		if kind == ptrace.SpanKindServer || peer != "" && !strings.HasSuffix(peer, "-db") {
			code := int64(200)
			if fail {
				code = 500
			}
			sp.Attributes().PutInt("http.response.status_code", code)
		} else {
			sp.Attributes().PutStr("db.system.name", "postgresql")
		}
		if fail {
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
		return sid
	}
	ms := func(lo, hi int) time.Duration { return time.Duration(lo+s.r.IntN(hi-lo)) * time.Millisecond }
	failing := s.dbFailing.Load()
	for i := range 10 {
		trace, _ := id()
		if i%2 == 0 { // /browse
			root := span("frontend", "GET /browse", ptrace.SpanKindServer, trace, pcommon.SpanID{}, ms(20, 40), false, "")
			c := span("frontend", "GET catalog", ptrace.SpanKindClient, trace, root, ms(10, 20), false, "catalog")
			srv := span("catalog", "GET /items", ptrace.SpanKindServer, trace, c, ms(8, 18), false, "")
			span("catalog", "SELECT items", ptrace.SpanKindClient, trace, srv, ms(1, 5), false, "catalog-db")
			continue
		}
		// /buy: the database query fails half the time while failing, and the failure goes up.
		fail := failing && s.r.IntN(2) == 0
		root := span("frontend", "POST /buy", ptrace.SpanKindServer, trace, pcommon.SpanID{}, ms(30, 60), fail, "")
		c := span("frontend", "POST checkout", ptrace.SpanKindClient, trace, root, ms(20, 40), fail, "checkout")
		srv := span("checkout", "POST /orders", ptrace.SpanKindServer, trace, c, ms(15, 35), fail, "")
		span("checkout", "INSERT order", ptrace.SpanKindClient, trace, srv, ms(2, 8), fail, "checkout-db")
	}
	return td
}

// run sends the system's spans every 100 ms until stopped, counting the spans sent and the
// failed exports.
func (s *shopSystem) run() (stop func()) {
	return harness.Repeat(100*time.Millisecond, func() bool {
		td := s.batch(time.Now())
		if err := s.otlp.Traces(td); err != nil {
			s.errs.Add(1)
			s.lastErr.Store(err.Error())
		} else {
			s.sent.Add(int64(td.SpanCount()))
		}
		return true
	})
}

// alertKey names an alert by its rule and its identifying labels.
func alertKey(a harness.Alert) string {
	var parts []string
	for _, l := range []string{"service_name", "peer_service", "breaker_target", "healthcheck_target", "predict_source", "predict_window"} {
		if v := a.Labels[l]; v != "" {
			parts = append(parts, l+"="+v)
		}
	}
	return a.Labels["alertname"] + "{" + strings.Join(parts, ",") + "}"
}

// alertSeen is what the poller saw of one alert.
type alertSeen struct {
	firstPending, firstFiring, lastSeen, gone time.Time
	labels                                    map[string]string
}

// alertWatch polls Prometheus's alerts every 100 ms and keeps what it saw, with local times.
type alertWatch struct {
	prom *harness.Prometheus
	mu   sync.Mutex
	seen map[string]*alertSeen
}

// run polls until stopped.
func (w *alertWatch) run() (stop func()) {
	return harness.Repeat(100*time.Millisecond, func() bool {
		alerts, err := w.prom.Alerts()
		now := time.Now()
		if err != nil {
			return true
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		active := map[string]bool{}
		for _, a := range alerts {
			k := alertKey(a)
			active[k] = true
			s := w.seen[k]
			if s == nil || !s.gone.IsZero() {
				s = &alertSeen{labels: a.Labels}
				w.seen[k] = s
			}
			if s.firstPending.IsZero() {
				s.firstPending = now
			}
			if a.State == "firing" && s.firstFiring.IsZero() {
				s.firstFiring = now
			}
			s.lastSeen = now
		}
		for k, s := range w.seen {
			if !active[k] && s.gone.IsZero() {
				s.gone = now
			}
		}
		return true
	})
}

func (w *alertWatch) get(key string) (alertSeen, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.seen[key]
	if !ok {
		return alertSeen{}, false
	}
	return *s, true
}

// find returns the keys of the alerts seen whose key starts with prefix.
func (w *alertWatch) find(prefix string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for k := range w.seen {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

func (w *alertWatch) all() map[string]alertSeen {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]alertSeen{}
	for k, s := range w.seen {
		out[k] = *s
	}
	return out
}

// firstSample returns the time of the first raw sample of query's single series at or after
// since whose value satisfies ok (the scrape at which Prometheus first saw it).
func firstSample(t *testing.T, prom *harness.Prometheus, series string, since time.Time, ok func(float64) bool) (time.Time, bool) {
	t.Helper()
	window := time.Since(since) + 2*time.Second
	res, err := prom.Query(fmt.Sprintf("%s[%ds]", series, int(window.Seconds())+1))
	require.NoError(t, err)
	for _, s := range res {
		for _, p := range s.Points() {
			if !p.At.Before(since.Add(-scenarioInterval)) && ok(p.Value) {
				return p.At, true
			}
		}
	}
	return time.Time{}, false
}

// verdicts is one run of the scenario: its peers and what it measured.
type verdicts struct {
	t        *testing.T
	long     bool
	scale    int
	dir      string
	ports    shippedPorts
	prom     *harness.Prometheus
	watch    *alertWatch
	shop     *shopSystem
	api      breakerAPI
	services []string

	unhealthyFor, degradedFor time.Duration
	// Local times of the phases, and of what Prometheus saw (sample times).
	began, failAt, recoverAt, endAt time.Time
	unhealthyAt, leftAt             time.Time
	checkout                        alertSeen
	saturation                      float64
}

func TestVerdictsScenario(t *testing.T) {
	v := &verdicts{t: t, long: os.Getenv("VIGIL_SCENARIO") == "long", scale: scenarioScale, dir: t.TempDir(),
		ports: newShippedPorts(t), services: []string{"frontend", "catalog", "catalog-db", "checkout", "checkout-db"}}
	if v.long {
		v.scale = 1
	}
	const host = "shop-host"
	t.Setenv("VIGIL_HOST_NAME", host)
	cfg, rules := v.configs()

	// Healthy phase: long enough for the degraded alert's `for` to pass with room.
	healthy := max(40*time.Second, v.degradedFor+10*time.Second)
	// The burn is bounded by the scenario's own phases (it stops with the test in any case).
	burner := harness.StartBurner(healthy + 2*v.unhealthyFor + 5*time.Minute)
	defer burner.Stop()

	harness.StartReady(t, cfg, v.ports.Health)
	v.prom = harness.StartPrometheus(t, harness.PrometheusOptions{
		Targets:   []string{fmt.Sprintf("127.0.0.1:%d", v.ports.Prom), fmt.Sprintf("127.0.0.1:%d", v.ports.Telemetry)},
		RuleFiles: []string{rules}, Interval: scenarioInterval,
	})
	v.watch = &alertWatch{prom: v.prom, seen: map[string]*alertSeen{}}
	defer v.watch.run()()

	v.shop = &shopSystem{otlp: harness.DialOTLP(t, fmt.Sprintf("127.0.0.1:%d", v.ports.GRPC)), host: host, r: rand.New(rand.NewPCG(13, 13))}
	defer v.shop.run()()

	// An operator forces catalog's breaker open: an override, not a failure.
	v.api = breakerAPI{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", v.ports.Breaker)}
	code, _, raw := v.api.do(http.MethodPut, "/v1/breakers/catalog/override", `{"mode":"forced_open"}`, "")
	require.Equal(t, http.StatusOK, code, raw)
	v.began = time.Now()

	v.healthyPhase(healthy)
	v.failurePhase()
	v.recoveryPhase()
	v.checkWholeRun()
	v.report()
}

// configs writes the run's collector config (the shipped default on free ports) and rule file
// (the shipped rules); in the short form every rule `for`, the predict warm-up and the burn
// windows are divided by the scale. It returns the config text and the rule file's path.
func (v *verdicts) configs() (string, string) {
	t := v.t
	cfg := shipped(t, "otelcol-config.yaml", v.ports, v.dir, "")
	cfg = scaleFor(t, cfg, v.scale)
	if !v.long {
		require.Contains(t, cfg, "    warm_up: 10m\n")
		cfg = strings.Replace(cfg, "    warm_up: 10m\n", "    warm_up: 20s\n    warm_up_points: 3\n", 1)
		// The burn-rate windows (the SRE workbook's 1h/5m, 6h/30m, 1d/2h, 3d/6h) scaled alike.
		require.Contains(t, cfg, "error_budget: {objective: 0.999}")
		cfg = strings.ReplaceAll(cfg, "error_budget: {objective: 0.999}", "error_budget: {objective: 0.999, windows: ["+
			"{long: 2m, short: 10s, factor: 14.4}, {long: 12m, short: 1m, factor: 6}, {long: 48m, short: 4m, factor: 3}, {long: 144m, short: 12m, factor: 1}]}")
	}
	text, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "deploy", "prometheus", "vigil-rules.yaml"))
	require.NoError(t, err)
	scaled := scaleFor(t, string(text), v.scale)
	rules := filepath.Join(v.dir, "vigil-rules.yaml")
	require.NoError(t, os.WriteFile(rules, []byte(scaled), 0o600))
	forOf := func(alert string) time.Duration {
		m := regexp.MustCompile(`(?s)alert: ` + alert + `\n\s*expr: [^\n]*\n\s*for: (\S+)`).FindStringSubmatch(scaled)
		require.NotNil(t, m, alert)
		d, err := time.ParseDuration(m[1])
		require.NoError(t, err)
		return d
	}
	v.unhealthyFor, v.degradedFor = forOf("VigilServiceUnhealthy"), forOf("VigilServiceDegraded")
	return cfg, rules
}

// healthyPhase waits until every service is scored healthy, holds the healthy shop (on the busy
// host) for the phase, and checks that nothing alerted.
func (v *verdicts) healthyPhase(healthy time.Duration) {
	t := v.t
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		for _, svc := range v.services {
			res, err := v.prom.Query(fmt.Sprintf(`health_status{service_name=%q,health_status="healthy"}`, svc))
			if assert.NoError(ct, err) && assert.Len(ct, res, 1, svc) {
				assert.Equal(ct, 1.0, res[0].Float(), svc)
			}
		}
	}, 60*time.Second, time.Second, "every service of the shop scored healthy")
	time.Sleep(time.Until(v.began.Add(healthy)))
	v.failAt = time.Now()
	for k := range v.watch.all() {
		t.Errorf("alert while the shop is healthy and the host busy: %s", k)
	}
}

// failurePhase makes checkout-db fail half its queries and waits for checkout's alert, the
// error-budget burn of the failing edge, the breaker-open action on the database's automatic
// open, and the database named as the first root cause.
func (v *verdicts) failurePhase() {
	t := v.t
	v.shop.dbFailing.Store(true)
	require.Eventually(t, func() bool {
		s, ok := v.watch.get(checkoutUnhealthy)
		return ok && !s.firstFiring.IsZero()
	}, v.unhealthyFor+90*time.Second, 100*time.Millisecond, "checkout's unhealthy alert fires")
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.NotEmpty(ct, v.watch.find(`VigilErrorBudgetBurn{service_name=checkout,peer_service=checkout-db,`), "the error budget of checkout's calls to its database burns")
		acted := false
		for _, r := range readAudit(t, filepath.Join(v.dir, "healing-audit.jsonl")) {
			acted = acted || r.Rule == "breaker-open" && r.Target == "checkout-db" && r.Decision == "executed"
		}
		assert.True(ct, acted, "the automatic open of checkout-db's breaker runs the breaker-open action")
		res, err := v.prom.Query(`health_root_cause{service_name="checkout-db"}`)
		if assert.NoError(ct, err) && assert.Len(ct, res, 1) {
			assert.Equal(ct, 1.0, res[0].Float(), "checkout-db is the first root cause")
		}
	}, 90*time.Second, time.Second)
	var ok bool
	v.unhealthyAt, ok = firstSample(t, v.prom, `health_status{service_name="checkout",health_status="unhealthy"}`, v.failAt, func(x float64) bool { return x == 1 })
	require.True(t, ok)
}

// checkoutUnhealthy is the alert the timings are measured on.
const checkoutUnhealthy = `VigilServiceUnhealthy{service_name=checkout}`

// recoveryPhase makes checkout-db healthy again, waits for checkout's alert to resolve and checks
// that no stale series is left.
func (v *verdicts) recoveryPhase() {
	t := v.t
	v.recoverAt = time.Now()
	v.shop.dbFailing.Store(false)
	require.Eventually(t, func() bool {
		s, _ := v.watch.get(checkoutUnhealthy)
		return !s.gone.IsZero()
	}, 90*time.Second, 100*time.Millisecond, "checkout's alert resolves")
	v.checkout, _ = v.watch.get(checkoutUnhealthy)
	var ok bool
	v.leftAt, ok = firstSample(t, v.prom, `health_status{service_name="checkout",health_status="unhealthy"}`, v.recoverAt, func(x float64) bool { return x == 0 })
	require.True(t, ok)
	// No stale series: one health_score per service, four status points summing to one.
	for _, svc := range v.services {
		res, err := v.prom.Query(fmt.Sprintf(`count(health_score{service_name=%q})`, svc))
		require.NoError(t, err)
		require.Len(t, res, 1, svc)
		assert.Equal(t, 1.0, res[0].Float(), "%s: one health_score series", svc)
		res, err = v.prom.Query(fmt.Sprintf(`sum(health_status{service_name=%q}) and count(health_status{service_name=%q}) == 4`, svc, svc))
		require.NoError(t, err)
		require.Len(t, res, 1, svc)
		assert.Equal(t, 1.0, res[0].Float(), "%s: one status at a time", svc)
	}
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		res, err := v.prom.Query(`min by (service_name) (health_score{service_name="checkout"})`)
		if assert.NoError(ct, err) && assert.Len(ct, res, 1) {
			assert.GreaterOrEqual(ct, res[0].Float(), 0.9, "the worst live score of checkout is healthy again")
		}
	}, 30*time.Second, 500*time.Millisecond)
	v.endAt = time.Now()
}

// checkWholeRun checks the verdicts over the whole run: catalog healthy throughout, the forced
// breaker exported as such and never acted on, the host busy, no alert or healing decision on a
// healthy service, nothing at all before the failure.
func (v *verdicts) checkWholeRun() {
	t := v.t
	window := fmt.Sprintf("[%ds]", int(v.endAt.Sub(v.began).Seconds())+1)
	failWindow := fmt.Sprintf("[%ds:1s]", int(v.endAt.Sub(v.failAt).Seconds())+1)
	res, err := v.prom.Query(`min_over_time(health_status{service_name="catalog",health_status="healthy"}` + window + `)`)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, 1.0, res[0].Float(), "catalog stays healthy throughout, while checkout fails")
	res, err = v.prom.Query(`max_over_time(breaker_state{breaker_target="catalog",breaker_mode="forced_open"}` + window + `)`)
	require.NoError(t, err)
	require.Len(t, res, 1, "the forced override is exported as such")
	assert.Equal(t, 2.0, res[0].Float())
	res, err = v.prom.Query(`min_over_time(min(health_signal{health_signal_name="saturation"})` + failWindow + `)`)
	require.NoError(t, err)
	require.Len(t, res, 1)
	v.saturation = res[0].Float()
	assert.Less(t, v.saturation, 0.9, "the burner kept the host busy enough to matter")

	healthyServices := map[string]bool{"catalog": true, "catalog-db": true, "otelcol-vigil": true}
	for k, s := range v.watch.all() {
		assert.False(t, healthyServices[s.labels["service_name"]] || s.labels["breaker_target"] == "catalog", "alert on a healthy service or a forced breaker: %s", k)
		assert.False(t, s.firstPending.Before(v.failAt), "alert during the healthy phase: %s", k)
	}
	for _, r := range readAudit(t, filepath.Join(v.dir, "healing-audit.jsonl")) {
		assert.False(t, healthyServices[r.Target] || r.Target == "catalog", "healing decision on a healthy target or a forced breaker: %+v", r)
		assert.False(t, r.Time.Before(v.failAt), "healing decision during the healthy phase: %+v", r)
	}
	assert.Zero(t, v.shop.errs.Load(), "every export accepted (last error: %v)", v.shop.lastErr.Load())
}

// report logs the timings and checks them against their bounds.
func (v *verdicts) report() {
	t := v.t
	scrape := scenarioInterval
	fireLag := v.checkout.firstFiring.Sub(v.unhealthyAt)
	resolveLag := v.checkout.gone.Sub(v.leftAt)
	t.Logf("verdicts scenario (%s form, rule durations / %d, scrape and evaluation every %s, healthscore interval 10s, host saturation signal down to %.2f):",
		map[bool]string{true: "long", false: "short"}[v.long], v.scale, scrape, v.saturation)
	t.Logf("  failure -> checkout unhealthy in Prometheus: %.1f s", v.unhealthyAt.Sub(v.failAt).Seconds())
	t.Logf("  unhealthy in Prometheus -> VigilServiceUnhealthy firing: %.1f s (for %s + evaluation %s + scrape %s = %.1f s)",
		fireLag.Seconds(), v.unhealthyFor, scenarioInterval, scrape, (v.unhealthyFor + scenarioInterval + scrape).Seconds())
	t.Logf("  recovery -> status left unhealthy in Prometheus: %.1f s", v.leftAt.Sub(v.recoverAt).Seconds())
	t.Logf("  status left unhealthy -> alert resolved: %.1f s (evaluation %s + scrape %s)", resolveLag.Seconds(), scenarioInterval, scrape)
	seen := v.watch.all()
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return seen[a].firstPending.Compare(seen[b].firstPending) })
	t.Logf("  spans sent: %d; alerts seen: %d", v.shop.sent.Load(), len(seen))
	for _, k := range keys {
		s := seen[k]
		t.Logf("    %s: pending %+.1f s, firing %+.1f s after the failure", k, s.firstPending.Sub(v.failAt).Seconds(), s.firstFiring.Sub(v.failAt).Seconds())
	}
	// 200 ms of polling on top of the bounds.
	assert.LessOrEqual(t, fireLag, v.unhealthyFor+scenarioInterval+scrape+200*time.Millisecond, "fires within for + an evaluation + a scrape")
	assert.LessOrEqual(t, resolveLag, scenarioInterval+scrape+200*time.Millisecond, "resolves within an evaluation + a scrape")
}
