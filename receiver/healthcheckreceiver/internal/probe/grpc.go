package probe

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// GRPC probes a server with the standard grpc.health.v1 Check for Service ("" = the whole
// server). Each probe uses a fresh connection, as Kubernetes gRPC probes do, so a probe sees the
// server as a new client would and never waits out a reconnect backoff.
type GRPC struct {
	Endpoint  string      // host:port
	Service   string      // health service name
	TLSConfig *tls.Config // nil: plaintext
}

// Probe implements Prober.
func (p *GRPC) Probe(ctx context.Context) Result {
	start := time.Now()
	creds := insecure.NewCredentials()
	if p.TLSConfig != nil {
		creds = credentials.NewTLS(p.TLSConfig)
	}
	// The dialer's own error tells a refused connection from a DNS failure from a timeout, which
	// gRPC's status text would blur.
	var (
		mu      sync.Mutex
		dialErr error
		d       net.Dialer
	)
	conn, err := grpc.NewClient("passthrough:///"+p.Endpoint,
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, "tcp", addr)
			mu.Lock()
			dialErr = err
			mu.Unlock()
			return c, err
		}),
	)
	if err != nil {
		return failed(start, ErrNetwork, err)
	}
	defer conn.Close()

	var pr peer.Peer
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: p.Service}, grpc.Peer(&pr))
	res := Result{Duration: time.Since(start)}
	if tlsInfo, ok := pr.AuthInfo.(credentials.TLSInfo); ok {
		res.CertNotAfter = earliestExpiry(tlsInfo.State.PeerCertificates)
	}
	if err != nil {
		mu.Lock()
		de := dialErr
		mu.Unlock()
		res.ErrorType, res.Err = p.classify(ctx, err, de), err
		return res
	}
	switch resp.GetStatus() {
	case healthpb.HealthCheckResponse_SERVING:
		return res
	case healthpb.HealthCheckResponse_NOT_SERVING:
		res.ErrorType = ErrGRPCNotServing
	case healthpb.HealthCheckResponse_SERVICE_UNKNOWN:
		res.ErrorType = ErrGRPCServiceUnknown
	default:
		res.ErrorType = ErrGRPCUnknown
	}
	res.Err = status.Errorf(codes.Unavailable, "health status %s", resp.GetStatus())
	return res
}

func (p *GRPC) classify(ctx context.Context, err, dialErr error) string {
	switch status.Code(err) {
	case codes.Unimplemented:
		return ErrGRPCUnimplemented
	case codes.NotFound:
		// The standard health server answers NotFound for a service it does not know.
		return ErrGRPCServiceUnknown
	case codes.DeadlineExceeded:
		return ErrTimeout
	case codes.Unavailable:
		if dialErr != nil {
			return Classify(ctx, dialErr)
		}
		if ctx.Err() != nil {
			return ErrTimeout
		}
		if p.TLSConfig != nil {
			// Connected, then the handshake failed.
			return ErrTLS
		}
		return ErrNetwork
	default:
		if ctx.Err() != nil {
			return ErrTimeout
		}
		return ErrGRPCStatus
	}
}

// Close implements Prober.
func (p *GRPC) Close() error { return nil }
