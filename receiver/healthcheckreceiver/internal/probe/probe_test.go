package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func probeOnce(t *testing.T, p Prober, timeout time.Duration) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r := p.Probe(ctx)
	require.NoError(t, p.Close())
	return r
}

func httpProber(url string) *HTTP {
	return &HTTP{
		Client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return ErrTooManyRedirects
			}
			return nil
		}},
		URL: url, Method: http.MethodGet, MaxBodyBytes: 64 << 10,
		ExpectedStatus: []StatusRange{{200, 299}},
	}
}

func TestParseStatus(t *testing.T) {
	for in, want := range map[string]StatusRange{"200": {200, 200}, "2xx": {200, 299}, "5XX": {500, 599}, "200-399": {200, 399}, " 404 ": {404, 404}} {
		got, err := ParseStatus(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "20", "2000", "abc", "6xx", "0xx", "399-200", "99", "600", "2x", "200-", "-200"} {
		_, err := ParseStatus(bad)
		assert.Error(t, err, bad)
	}
}

func TestHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"status":"UP"}`) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 100<<10)+"MARKER")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.Header.Get("X-Probe"), b)
	})
	release := make(chan struct{})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release)

	tests := []struct {
		name    string
		adjust  func(p *HTTP)
		path    string
		want    string
		timeout time.Duration
	}{
		{name: "ok", path: "/ok"},
		{name: "status not expected", path: "/down", want: ErrStatusCode},
		{name: "status range expected", path: "/down", adjust: func(p *HTTP) { p.ExpectedStatus = []StatusRange{{500, 599}} }},
		{name: "body contains", path: "/ok", adjust: func(p *HTTP) { p.BodyContains = `"UP"` }},
		{name: "body does not contain", path: "/ok", adjust: func(p *HTTP) { p.BodyContains = "DOWN" }, want: ErrBodyMismatch},
		{name: "body regex", path: "/ok", adjust: func(p *HTTP) { p.BodyRegex = regexp.MustCompile(`"status":\s*"UP"`) }},
		{name: "body regex mismatch", path: "/ok", adjust: func(p *HTTP) { p.BodyRegex = regexp.MustCompile(`^DOWN`) }, want: ErrBodyMismatch},
		{name: "marker past max body bytes is not read", path: "/big", adjust: func(p *HTTP) { p.BodyContains = "MARKER" }, want: ErrBodyMismatch},
		{name: "marker inside raised max body bytes", path: "/big", adjust: func(p *HTTP) { p.BodyContains = "MARKER"; p.MaxBodyBytes = 200 << 10 }},
		{name: "redirect followed", path: "/moved", adjust: func(p *HTTP) { p.BodyContains = "UP" }},
		{name: "redirect not followed", path: "/moved", adjust: func(p *HTTP) {
			p.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		}, want: ErrStatusCode},
		{name: "redirect not followed, 3xx expected", path: "/moved", adjust: func(p *HTTP) {
			p.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			p.ExpectedStatus = []StatusRange{{300, 399}}
		}},
		{name: "redirect loop", path: "/loop", want: ErrRedirect},
		{name: "method, header and body sent", path: "/echo", adjust: func(p *HTTP) {
			p.Method, p.Body, p.BodyContains = http.MethodPost, "ping", "POST probe ping"
			p.Client.Transport = headerRT{rt: p.Client.Transport, key: "X-Probe", val: "probe"}
		}},
		{name: "timeout", path: "/slow", want: ErrTimeout, timeout: 200 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := httpProber(srv.URL + tt.path)
			if tt.adjust != nil {
				tt.adjust(p)
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			r := probeOnce(t, p, timeout)
			assert.Equal(t, tt.want, r.ErrorType, "err: %v", r.Err)
			assert.Positive(t, r.Duration)
			assert.True(t, r.CertNotAfter.IsZero())
		})
	}
}

type headerRT struct {
	rt       http.RoundTripper
	key, val string
}

func (h headerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r.Header.Set(h.key, h.val)
	return h.rt.RoundTrip(r)
}

func TestHTTPConnectionRefusedAndDNS(t *testing.T) {
	r := probeOnce(t, httpProber("http://"+testserver.ClosedPort(t)+"/"), 5*time.Second)
	assert.Equal(t, ErrConnectionRefused, r.ErrorType, "%v", r.Err)

	r = probeOnce(t, httpProber("http://vigil-no-such-host.invalid/"), 5*time.Second)
	assert.Equal(t, ErrDNS, r.ErrorType, "%v", r.Err)
}

func TestHTTPPhaseTimings(t *testing.T) {
	cert := testserver.NewCert(t, time.Hour)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	srv.StartTLS()
	defer srv.Close()

	p := httpProber(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	p.Client.Transport = &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: pool(t, cert.PEM)}}
	p.PhaseTimings = true
	r := probeOnce(t, p, 5*time.Second)
	require.True(t, r.OK(), "%v", r.Err)
	for _, phase := range []string{PhaseDNS, PhaseConnect, PhaseTLS, PhaseFirstByte} {
		assert.Contains(t, r.Phases, phase)
		assert.LessOrEqual(t, r.Phases[phase], r.Duration, phase)
	}
	assert.WithinDuration(t, cert.NotAfter, r.CertNotAfter, time.Second)

	p = httpProber(srv.URL)
	r = probeOnce(t, p, 5*time.Second)
	assert.Nil(t, r.Phases, "no timings unless asked")
}

func pool(t *testing.T, pemCert string) *x509.CertPool {
	p := x509.NewCertPool()
	require.True(t, p.AppendCertsFromPEM([]byte(pemCert)))
	return p
}

func TestHTTPSUntrustedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = quietLog()
	defer srv.Close()
	r := probeOnce(t, httpProber(srv.URL), 5*time.Second)
	assert.Equal(t, ErrTLS, r.ErrorType, "%v", r.Err)
}

func TestTCP(t *testing.T) {
	l := testserver.Listen(t)
	testserver.Accept(t, l, nil)
	r := probeOnce(t, &TCP{Endpoint: l.Addr().String()}, 5*time.Second)
	assert.True(t, r.OK(), "%v", r.Err)
	assert.True(t, r.CertNotAfter.IsZero())

	r = probeOnce(t, &TCP{Endpoint: testserver.ClosedPort(t)}, 5*time.Second)
	assert.Equal(t, ErrConnectionRefused, r.ErrorType)

	r = probeOnce(t, &TCP{Endpoint: "vigil-no-such-host.invalid:80"}, 5*time.Second)
	assert.Equal(t, ErrDNS, r.ErrorType, "%v", r.Err)
}

func TestTCPWithTLS(t *testing.T) {
	cert := testserver.NewCert(t, 90*time.Minute)
	tlsL := tls.NewListener(testserver.Listen(t), &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
	testserver.Accept(t, tlsL, func(c net.Conn) { _ = c.(*tls.Conn).Handshake() })

	r := probeOnce(t, &TCP{Endpoint: tlsL.Addr().String(), TLSConfig: &tls.Config{RootCAs: pool(t, cert.PEM), ServerName: "127.0.0.1"}}, 5*time.Second)
	require.True(t, r.OK(), "%v", r.Err)
	assert.WithinDuration(t, cert.NotAfter, r.CertNotAfter, time.Second)

	// Not trusted.
	r = probeOnce(t, &TCP{Endpoint: tlsL.Addr().String(), TLSConfig: &tls.Config{ServerName: "127.0.0.1"}}, 5*time.Second)
	assert.Equal(t, ErrTLS, r.ErrorType, "%v", r.Err)

	// A plaintext server that answers the ClientHello with garbage.
	plain := testserver.Listen(t)
	testserver.Accept(t, plain, func(c net.Conn) { _, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n")) })
	r = probeOnce(t, &TCP{Endpoint: plain.Addr().String(), TLSConfig: &tls.Config{ServerName: "127.0.0.1"}}, 5*time.Second)
	assert.Equal(t, ErrTLS, r.ErrorType, "%v", r.Err)

	// A server that accepts and never answers: the handshake times out.
	silent := testserver.Listen(t)
	hold := make(chan struct{})
	testserver.Accept(t, silent, func(net.Conn) { <-hold })
	r = probeOnce(t, &TCP{Endpoint: silent.Addr().String(), TLSConfig: &tls.Config{ServerName: "127.0.0.1"}}, 200*time.Millisecond)
	close(hold)
	assert.Equal(t, ErrTimeout, r.ErrorType, "%v", r.Err)
}

func TestGRPC(t *testing.T) {
	addr, hs := testserver.NewGRPCHealth(t, nil)
	hs.SetServingStatus("up", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	hs.SetServingStatus("unknown", healthpb.HealthCheckResponse_UNKNOWN)

	for service, want := range map[string]string{
		"":        "", // the server as a whole
		"up":      "",
		"down":    ErrGRPCNotServing,
		"unknown": ErrGRPCUnknown,
		"missing": ErrGRPCServiceUnknown,
	} {
		r := probeOnce(t, &GRPC{Endpoint: addr, Service: service}, 5*time.Second)
		assert.Equal(t, want, r.ErrorType, "service %q: %v", service, r.Err)
	}

	fixed := testserver.NewGRPC(t, func(s *grpc.Server) {
		healthpb.RegisterHealthServer(s, &testserver.FixedHealth{Status: healthpb.HealthCheckResponse_SERVICE_UNKNOWN})
	}, nil)
	r := probeOnce(t, &GRPC{Endpoint: fixed, Service: "x"}, 5*time.Second)
	assert.Equal(t, ErrGRPCServiceUnknown, r.ErrorType, "%v", r.Err)

	noHealth := testserver.NewGRPC(t, nil, nil)
	r = probeOnce(t, &GRPC{Endpoint: noHealth}, 5*time.Second)
	assert.Equal(t, ErrGRPCUnimplemented, r.ErrorType, "%v", r.Err)

	r = probeOnce(t, &GRPC{Endpoint: testserver.ClosedPort(t)}, 5*time.Second)
	assert.Equal(t, ErrConnectionRefused, r.ErrorType, "%v", r.Err)

	r = probeOnce(t, &GRPC{Endpoint: "vigil-no-such-host.invalid:443"}, 5*time.Second)
	assert.Equal(t, ErrDNS, r.ErrorType, "%v", r.Err)

	silent := testserver.Listen(t)
	hold := make(chan struct{})
	testserver.Accept(t, silent, func(net.Conn) { <-hold })
	r = probeOnce(t, &GRPC{Endpoint: silent.Addr().String()}, 200*time.Millisecond)
	close(hold)
	assert.Equal(t, ErrTimeout, r.ErrorType, "%v", r.Err)
}

func TestGRPCWithTLS(t *testing.T) {
	cert := testserver.NewCert(t, 2*time.Hour)
	addr, hs := testserver.NewGRPCHealth(t, &cert)
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)

	r := probeOnce(t, &GRPC{Endpoint: addr, TLSConfig: &tls.Config{RootCAs: pool(t, cert.PEM), ServerName: "127.0.0.1"}}, 5*time.Second)
	require.True(t, r.OK(), "%v", r.Err)
	assert.WithinDuration(t, cert.NotAfter, r.CertNotAfter, time.Second)

	r = probeOnce(t, &GRPC{Endpoint: addr, TLSConfig: &tls.Config{ServerName: "127.0.0.1"}}, 5*time.Second)
	assert.Equal(t, ErrTLS, r.ErrorType, "%v", r.Err)
}

func TestEarliestExpiry(t *testing.T) {
	now := time.Now()
	certs := []*x509.Certificate{{NotAfter: now.Add(3 * time.Hour)}, {NotAfter: now.Add(time.Hour)}, {NotAfter: now.Add(2 * time.Hour)}}
	assert.Equal(t, now.Add(time.Hour), earliestExpiry(certs))
	assert.True(t, earliestExpiry(nil).IsZero())
}

func TestHTTPTruncatedBodyAndReset(t *testing.T) {
	// Promises 100 bytes, sends 10, hangs up: the body cannot be read.
	truncated := testserver.Listen(t)
	testserver.Accept(t, truncated, func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
	})
	r := probeOnce(t, httpProber("http://"+truncated.Addr().String()+"/"), 5*time.Second)
	assert.Equal(t, ErrBodyRead, r.ErrorType, "%v", r.Err)

	// Reads the request, then resets the connection (SO_LINGER 0).
	reset := testserver.Listen(t)
	testserver.Accept(t, reset, func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_ = c.(*net.TCPConn).SetLinger(0)
	})
	r = probeOnce(t, httpProber("http://"+reset.Addr().String()+"/"), 5*time.Second)
	assert.Equal(t, ErrConnectionReset, r.ErrorType, "%v", r.Err)
}

// deniedHealth answers every Check with PermissionDenied.
type deniedHealth struct {
	healthpb.UnimplementedHealthServer
}

func (deniedHealth) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return nil, status.Error(codes.PermissionDenied, "no")
}

func TestGRPCOtherStatus(t *testing.T) {
	addr := testserver.NewGRPC(t, func(s *grpc.Server) { healthpb.RegisterHealthServer(s, deniedHealth{}) }, nil)
	r := probeOnce(t, &GRPC{Endpoint: addr}, 5*time.Second)
	assert.Equal(t, ErrGRPCStatus, r.ErrorType, "%v", r.Err)

	// A plaintext client talking to something that is not a gRPC server.
	notGRPC := testserver.Listen(t)
	testserver.Accept(t, notGRPC, func(c net.Conn) { _, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\n") })
	r = probeOnce(t, &GRPC{Endpoint: notGRPC.Addr().String()}, 5*time.Second)
	assert.Equal(t, ErrNetwork, r.ErrorType, "%v", r.Err)
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	assert.Empty(t, Classify(ctx, nil))
	assert.Equal(t, ErrTimeout, Classify(ctx, context.DeadlineExceeded))
	assert.Equal(t, ErrDNS, Classify(ctx, &net.DNSError{Err: "no such host", IsNotFound: true}))
	assert.Equal(t, ErrTimeout, Classify(ctx, &net.DNSError{Err: "i/o timeout", IsTimeout: true}))
	assert.Equal(t, ErrNetwork, Classify(ctx, io.ErrUnexpectedEOF))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	assert.Equal(t, ErrTimeout, Classify(cancelled, io.EOF), "a probe whose context ended is a timeout")
}
