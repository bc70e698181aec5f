package e2e

import (
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
)

// secrets are the personal data the test puts in telemetry; none may leave the agent.
var secrets = []string{"4111111111111111", "5500 0000 0000 0004", "jane.doe@example.com", "eyJhbGciOiJIUzI1NiJ9.payload.sig", "s3cr3t-query-token", "session=abc"}

// TestAgentScrubsPersonalData sends spans and logs carrying card numbers, e-mail addresses and
// bearer tokens (in url.full, headers and plain attributes) to deploy/agent.yaml as shipped; what
// the agent forwards (to a plaintext sink here, VIGIL_GATEWAY_INSECURE=true) holds none of them,
// while the attributes scoring needs pass unchanged.
func TestAgentScrubsPersonalData(t *testing.T) {
	sink := harness.NewSink(t)
	addr := harness.LoopbackAddr(t)
	n := &node{addr: addr, token: "agent-token", args: []string{"--config=" + shippedConfig("agent.yaml")}}
	n.env = []string{
		"VIGIL_LISTEN_HOST=" + addr, "VIGIL_HEALTH_ENDPOINT=" + addr + ":13133", "VIGIL_BREAKER_ENDPOINT=" + addr + ":13180",
		"VIGIL_BREAKER_TOKEN_FILE=" + writeToken(t, n.token), "VIGIL_STORAGE_DIR=" + filepath.Join(t.TempDir(), "queue"),
		"VIGIL_GATEWAY_ENDPOINT=" + sink.Endpoint, "VIGIL_GATEWAY_INSECURE=true", "VIGIL_HOST_NAME=node-pii",
	}
	n.start(t)

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("POST /pay")
	sp.SetKind(ptrace.SpanKindClient)
	sp.SetTraceID(pcommon.TraceID([16]byte{9, 9, 9}))
	sp.SetSpanID(pcommon.SpanID([8]byte{9, 9}))
	now := time.Now()
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-30 * time.Millisecond)))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
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
