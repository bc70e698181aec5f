package healthcheckreceiver

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/metadata"
	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/probe"
	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/testserver"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// peers starts one real server of each kind on loopback and returns targets covering every
// type and a failure of each.
func peers(t *testing.T) []TargetConfig {
	t.Helper()
	cert := testserver.NewCert(t, 48*time.Hour)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer probe-token" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"status":"UP"}`)
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	plain := httptest.NewServer(mux)
	t.Cleanup(plain.Close)
	secure := httptest.NewUnstartedServer(mux)
	secure.TLS = secureConfig(cert)
	secure.StartTLS()
	t.Cleanup(secure.Close)

	tcpL := testserver.Listen(t)
	testserver.Accept(t, tcpL, nil)
	grpcAddr, hs := testserver.NewGRPCHealth(t, nil)
	hs.SetServingStatus("orders.v1.Orders", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("billing.v1.Billing", healthpb.HealthCheckResponse_NOT_SERVING)

	var auth configopaque.MapList
	auth.Set("Authorization", "Bearer probe-token")
	trusted := configoptional.Some(configtls.ClientConfig{Config: configtls.Config{CAPem: configopaque.String(cert.PEM)}})
	return []TargetConfig{
		{Name: "checkout-http", Service: "checkout", Type: TypeHTTP, Endpoint: plain.URL + "/healthz", HTTP: HTTPConfig{Headers: auth, BodyContains: "UP"}},
		{Name: "checkout-https", Service: "checkout", Type: TypeHTTP, Endpoint: secure.URL + "/healthz", TLS: trusted, HTTP: HTTPConfig{Headers: auth}},
		{Name: "checkout-unauthorised", Service: "checkout", Type: TypeHTTP, Endpoint: plain.URL + "/healthz"},
		{Name: "inventory-down", Service: "inventory", Type: TypeHTTP, Endpoint: plain.URL + "/down"},
		{Name: "redis", Type: TypeTCP, Endpoint: tcpL.Addr().String()},
		{Name: "postgres", Type: TypeTCP, Endpoint: testserver.ClosedPort(t)},
		{Name: "orders-grpc", Service: "orders", Type: TypeGRPC, Endpoint: grpcAddr, GRPC: GRPCConfig{Service: "orders.v1.Orders"}},
		{Name: "billing-grpc", Service: "billing", Type: TypeGRPC, Endpoint: grpcAddr, GRPC: GRPCConfig{Service: "billing.v1.Billing"}},
	}
}

// TestGoldenMetrics probes each target once, deterministically, and compares the emitted metrics
// with testdata/golden/metrics.yaml (durations and certificate lifetimes vary, so their values
// are checked apart).
func TestGoldenMetrics(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Targets = peers(t)
	require.NoError(t, validate(cfg))
	s, err := newScraper(cfg, receivertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, s.build(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(t, s.shutdown(ctx)) }()
	for _, tg := range s.targets {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		tg.record(tg.prober.Probe(pctx))
		cancel()
	}
	got, err := s.scrape(ctx)
	require.NoError(t, err)

	path := filepath.Join("testdata", "golden", "metrics.yaml")
	if *update {
		require.NoError(t, golden.WriteMetrics(t, path, got))
	}
	want, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	require.NoError(t, pmetrictest.CompareMetrics(want, got,
		pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp(),
		pmetrictest.IgnoreMetricValues(metricDuration, metricCertRemaining),
		pmetrictest.IgnoreResourceMetricsOrder(), pmetrictest.IgnoreMetricsOrder(),
		pmetrictest.IgnoreMetricDataPointsOrder(), pmetrictest.IgnoreScopeVersion()))

	// The values the golden file cannot pin.
	forEachPoint(got, func(name string, dp pmetric.NumberDataPoint) {
		switch name {
		case metricDuration:
			assert.Greater(t, dp.DoubleValue(), 0.0)
			assert.Less(t, dp.DoubleValue(), 5.0)
		case metricCertRemaining:
			assert.InDelta(t, (48 * time.Hour).Seconds(), dp.DoubleValue(), 120)
		}
	})
}

func forEachPoint(md pmetric.Metrics, fn func(name string, dp pmetric.NumberDataPoint)) {
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		sms := md.ResourceMetrics().At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				default:
					continue
				}
				for l := 0; l < dps.Len(); l++ {
					fn(m.Name(), dps.At(l))
				}
			}
		}
	}
}

// TestReceiverEndToEnd runs the receiver from its factory with its own scheduler and controller,
// probing real servers, and checks what reaches the next consumer.
func TestReceiverEndToEnd(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.CollectionInterval = 200 * time.Millisecond
	cfg.Timeout = 150 * time.Millisecond
	cfg.Targets = peers(t)
	require.NoError(t, validate(cfg))
	sink := new(consumertest.MetricsSink)
	r, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	want := map[string]int64{
		"checkout-http": 1, "checkout-https": 1, "checkout-unauthorised": 0, "inventory-down": 0,
		"redis": 1, "postgres": 0, "orders-grpc": 1, "billing-grpc": 0,
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		all := sink.AllMetrics()
		if !assert.NotEmpty(c, all) {
			return
		}
		got := map[string]int64{}
		errTypes := map[string]string{}
		forEachPoint(all[len(all)-1], func(name string, dp pmetric.NumberDataPoint) {
			tgt, _ := dp.Attributes().Get(attrTarget)
			switch name {
			case metricStatus:
				got[tgt.Str()] = dp.IntValue()
			case metricError:
				et, _ := dp.Attributes().Get(attrErrorType)
				errTypes[tgt.Str()] = et.Str()
			}
		})
		assert.Equal(c, want, got)
		assert.Equal(c, map[string]string{
			"checkout-unauthorised": probe.ErrStatusCode, "inventory-down": probe.ErrStatusCode,
			"postgres": probe.ErrConnectionRefused, "billing-grpc": probe.ErrGRPCNotServing,
		}, errTypes)
	}, 15*time.Second, 50*time.Millisecond)
}

// TestOneBadProbeFailsOnlyItself: a target whose TLS file cannot be loaded at start (it holds no
// certificate) is reported down with error.type config; the other targets start and are probed.
func TestOneBadProbeFailsOnlyItself(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not a certificate"), 0o600))
	l := testserver.Listen(t)
	testserver.Accept(t, l, nil)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.CollectionInterval, cfg.Timeout = time.Second, 500*time.Millisecond
	cfg.Targets = []TargetConfig{
		{Name: "bad-tls", Type: TypeTCP, Endpoint: "127.0.0.1:1",
			TLS: configoptional.Some(configtls.ClientConfig{Config: configtls.Config{CAFile: bad}})},
		{Name: "db", Type: TypeTCP, Endpoint: l.Addr().String()},
	}
	require.NoError(t, validate(cfg), "the file exists: validate cannot know it is bad")
	sink := new(consumertest.MetricsSink)
	r, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		up, errTypes := map[string]int64{}, map[string]string{}
		for _, md := range sink.AllMetrics() {
			forEachPoint(md, func(name string, dp pmetric.NumberDataPoint) {
				target, _ := dp.Attributes().Get("healthcheck.target")
				switch name {
				case "healthcheck.status":
					up[target.Str()] = dp.IntValue()
				case "healthcheck.error":
					et, _ := dp.Attributes().Get("error.type")
					errTypes[target.Str()] = et.Str()
				}
			})
		}
		assert.Equal(c, map[string]int64{"bad-tls": 0, "db": 1}, up)
		assert.Equal(c, map[string]string{"bad-tls": probe.ErrConfig}, errTypes)
	}, 10*time.Second, 50*time.Millisecond)
}
