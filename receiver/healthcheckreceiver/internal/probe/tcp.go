package probe

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// TCP probes a TCP endpoint: a connect, then a TLS handshake when TLSConfig is set.
type TCP struct {
	Endpoint  string
	TLSConfig *tls.Config
	dialer    net.Dialer
}

// Probe implements Prober.
func (p *TCP) Probe(ctx context.Context) Result {
	start := time.Now()
	conn, err := p.dialer.DialContext(ctx, "tcp", p.Endpoint)
	if err != nil {
		return failed(start, Classify(ctx, err), err)
	}
	defer conn.Close()
	if p.TLSConfig == nil {
		return Result{Duration: time.Since(start)}
	}
	tlsConn := tls.Client(conn, p.TLSConfig)
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		errType := Classify(ctx, err)
		if errType == ErrNetwork {
			// A handshake that fails without a network cause is a TLS failure.
			errType = ErrTLS
		}
		return failed(start, errType, err)
	}
	return Result{Duration: time.Since(start), CertNotAfter: earliestExpiry(tlsConn.ConnectionState().PeerCertificates)}
}

// Close implements Prober.
func (p *TCP) Close() error { return nil }
