package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/testbed/harness"
	"github.com/vigil-collector/vigil/testbed/internal/otlp"
	traffic "github.com/vigil-collector/vigil/testbed/shop"
)

// acceptedSpans is what a node's OTLP receiver has accepted, from its own telemetry.
func acceptedSpans(t assert.TestingT, n *node) float64 {
	return sum(n.scrape(t, 8888), "otelcol_receiver_accepted_spans", map[string]string{"receiver": "otlp"})
}

// sendBatches sends count batches of the shop to the agent and returns the spans sent.
func sendBatches(t *testing.T, agent *node, s *traffic.Shop, count int) int64 {
	t.Helper()
	sender, err := traffic.Dial(agent.addr + ":4317")
	require.NoError(t, err)
	defer sender.Close()
	for range count {
		require.NoError(t, sender.Send(context.Background(), s.Batch(time.Now())))
	}
	return sender.Spans.Load()
}

// TestAgentToGatewayAsShipped runs deploy/agent.yaml and deploy/gateway.yaml as they ship, with TLS
// between them from certificates made here: spans, host metrics, the agent's probe and the health
// scores computed from them arrive at the gateway, every span exactly once.
func TestAgentToGatewayAsShipped(t *testing.T) {
	gwAddr, agAddr := harness.LoopbackAddr(t), harness.LoopbackAddr(t)
	tlsf := harness.NewTLS(t, gwAddr)
	gw := startGateway(t, gwAddr, tlsf)
	agent := startAgent(t, agAddr, "node-a", gwAddr, tlsf.CA)

	// The gateway serves TLS only: a plaintext client is refused.
	plain, err := traffic.Dial(gwAddr + ":4317")
	require.NoError(t, err)
	require.Error(t, plain.Send(context.Background(), ptrace.NewTraces()), "the gateway must not accept plaintext OTLP")
	plain.Close()

	start := time.Now()
	sent := sendBatches(t, agent, traffic.New(traffic.DefaultEdges), 20)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Equal(ct, float64(sent), acceptedSpans(ct, gw), "spans the gateway accepted")
	}, 30*time.Second, 250*time.Millisecond)
	t.Logf("agent -> gateway (TLS): %d spans sent to the agent, %d accepted by the gateway, all within %s", sent, sent, time.Since(start).Round(100*time.Millisecond))

	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		body := gw.scrape(ct, 8889)
		assert.NotEmpty(ct, harness.FindSample(body, "system_cpu_utilization_ratio", map[string]string{"host_name": "node-a"}), "host metrics of node-a")
		assert.Equal(ct, []float64{1}, harness.FindSample(body, "healthcheck_status", map[string]string{"service_name": "vigil-agent", "host_name": "node-a"}), "the agent's probe of itself")
		for _, svc := range []string{"frontend", "catalog", "checkout", "payments"} {
			v := harness.FindSample(body, "health_score", map[string]string{"service_name": svc})
			if assert.Len(ct, v, 1, svc) {
				assert.Greater(ct, v[0], 0.0, svc)
			}
			// Every call succeeded: the errors signal of each callee is 1.
			if svc != "frontend" {
				assert.Equal(ct, []float64{1}, harness.FindSample(body, "health_signal", map[string]string{"service_name": svc, "health_signal_name": "errors"}), svc)
			}
		}
	}, 60*time.Second, time.Second)
	body := gw.scrape(t, 8889)
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "health_score{") || strings.HasPrefix(line, "health_signal{") {
			t.Log(line)
		}
	}
	// The agent's own breakers learned from the same spans.
	assert.Equal(t, "closed", agent.breaker(t, "payments")["state"])
	t.Logf("agent -> gateway: host metrics, probe and health scores at the gateway %s after the first span", time.Since(start).Round(100*time.Millisecond))
}

// TestAgentQueueSurvivesGatewayRestart stops the gateway, sends spans to the agent, restarts the
// agent too (its queue is on disk), then brings the gateway back: every span arrives.
func TestAgentQueueSurvivesGatewayRestart(t *testing.T) {
	gwAddr, agAddr := harness.LoopbackAddr(t), harness.LoopbackAddr(t)
	tlsf := harness.NewTLS(t, gwAddr)
	gw := startGateway(t, gwAddr, tlsf)
	agent := startAgent(t, agAddr, "node-b", gwAddr, tlsf.CA)
	s := traffic.New(traffic.DefaultEdges)

	warm := sendBatches(t, agent, s, 2)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Equal(ct, float64(warm), acceptedSpans(ct, gw))
	}, 30*time.Second, 250*time.Millisecond)

	require.Equal(t, 0, gw.Stop(t), "gateway exit code")
	sent := sendBatches(t, agent, s, 25)
	time.Sleep(2 * time.Second) // past the batch processor's timeout: the spans are in the exporter's queue
	require.Equal(t, 0, agent.Stop(t), "agent exit code")
	agent.start(t)
	gw.start(t)
	back := time.Now()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.GreaterOrEqual(ct, acceptedSpans(ct, gw), float64(sent), "spans the restarted gateway accepted")
	}, 90*time.Second, 500*time.Millisecond)
	got := acceptedSpans(t, gw)
	t.Logf("queue: %d spans sent while the gateway was down (agent restarted meanwhile), %.0f accepted by the restarted gateway within %s of its return",
		sent, got, time.Since(back).Round(100*time.Millisecond))
	assert.Equal(t, float64(sent), got, "nothing lost and nothing sent twice")
}

// TestAgentToGatewayPlaintextMode is the documented insecure mode: the gateway with
// VIGIL_TLS_ENABLED=false, the agent with VIGIL_GATEWAY_INSECURE=true.
func TestAgentToGatewayPlaintextMode(t *testing.T) {
	gwAddr, agAddr := harness.LoopbackAddr(t), harness.LoopbackAddr(t)
	gw := startGateway(t, gwAddr, harness.TLSFiles{}, "VIGIL_TLS_ENABLED=false")
	agent := startAgent(t, agAddr, "node-p", gwAddr, "", "VIGIL_GATEWAY_INSECURE=true")
	sent := sendBatches(t, agent, traffic.New(traffic.DefaultEdges), 5)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		assert.Equal(ct, float64(sent), acceptedSpans(ct, gw))
	}, 30*time.Second, 250*time.Millisecond)
}

// secrets are the personal data the test puts in telemetry; none may leave the agent.
var secrets = []string{"4111111111111111", "5500 0000 0000 0004", "jane.doe@example.com", "eyJhbGciOiJIUzI1NiJ9.payload.sig", "s3cr3t-query-token", "session=abc"}

// TestAgentScrubsPersonalData sends spans and logs carrying card numbers, e-mail addresses and
// bearer tokens (in url.full, headers and plain attributes) to deploy/agent.yaml as shipped; what
// the agent forwards (to a plaintext sink here, VIGIL_GATEWAY_INSECURE=true) holds none of them,
// while the attributes scoring needs pass unchanged.
func TestAgentScrubsPersonalData(t *testing.T) {
	sink := harness.NewSink(t)
	addr := harness.LoopbackAddr(t)
	startNode(t, addr, "agent", "VIGIL_STORAGE_DIR="+filepath.Join(t.TempDir(), "queue"),
		"VIGIL_GATEWAY_ENDPOINT="+sink.Endpoint, "VIGIL_GATEWAY_INSECURE=true", "VIGIL_HOST_NAME=node-pii")

	td := ptrace.NewTraces()
	sp := otlp.AppendSpan(td, "checkout", "POST /pay", ptrace.SpanKindClient, time.Now(), 30*time.Millisecond)
	sp.SetTraceID(pcommon.TraceID([16]byte{9, 9, 9}))
	sp.SetSpanID(pcommon.SpanID([8]byte{9, 9}))
	a := sp.Attributes()
	a.PutStr("url.full", "https://payments.internal/v1/pay?card=4111111111111111&email=jane.doe@example.com&access_token=s3cr3t-query-token&amount=12")
	a.PutStr("http.request.header.authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig")
	a.PutStr("http.request.header.cookie", "session=abc")
	a.PutStr("user.email", "jane.doe@example.com")
	a.PutStr("payment.card", "5500 0000 0000 0004")
	a.PutStr("peer.service", "payments")
	a.PutStr("server.address", "payments.internal")
	a.PutInt("http.response.status_code", 200)
	ev := sp.Events().AppendEmpty()
	ev.SetName("retry")
	ev.Attributes().PutStr("message", "retrying for jane.doe@example.com")

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty()
	lr.Resource().Attributes().PutStr("service.name", "checkout")
	rec := lr.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	rec.Body().SetStr("payment accepted")
	rec.Attributes().PutStr("customer", "jane.doe@example.com")
	rec.Attributes().PutStr("auth", "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig")

	otlp := harness.DialOTLP(t, addr+":4317")
	require.NoError(t, otlp.Traces(td))
	require.NoError(t, otlp.Logs(ld))

	require.Eventually(t, func() bool { return len(sink.Traces()) > 0 && len(sink.Logs()) > 0 }, 30*time.Second, 100*time.Millisecond)
	var out ptrace.Span
	for _, b := range sink.Traces() {
		for i := range b.ResourceSpans().Len() {
			r := b.ResourceSpans().At(i)
			if v, _ := r.Resource().Attributes().Get("service.name"); v.Str() == "checkout" {
				out = r.ScopeSpans().At(0).Spans().At(0)
				host, _ := r.Resource().Attributes().Get("host.name")
				assert.Equal(t, "node-pii", host.Str())
			}
		}
	}
	require.Equal(t, "POST /pay", out.Name())
	forwarded := dumpAttrs(out.Attributes()) + dumpAttrs(out.Events().At(0).Attributes()) +
		dumpAttrs(sink.Logs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes())
	for _, s := range secrets {
		assert.NotContains(t, forwarded, s)
	}
	url, _ := out.Attributes().Get("url.full")
	assert.Equal(t, "https://payments.internal/v1/pay?card=****&email=****&****&amount=12", url.Str())
	for k, want := range map[string]string{"peer.service": "payments", "server.address": "payments.internal"} {
		v, _ := out.Attributes().Get(k)
		assert.Equal(t, want, v.Str(), k)
	}
	code, _ := out.Attributes().Get("http.response.status_code")
	assert.Equal(t, int64(200), code.Int())
	t.Logf("forwarded attributes: %s", forwarded)
}

func dumpAttrs(m pcommon.Map) string {
	var b strings.Builder
	m.Range(func(k string, v pcommon.Value) bool {
		b.WriteString(k + "=" + v.AsString() + "; ")
		return true
	})
	return b.String()
}
