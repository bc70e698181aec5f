// Package testserver starts real servers on loopback for the receiver's tests: TLS listeners with
// short-lived self-signed certificates and gRPC servers with the standard health service.
package testserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Cert is a self-signed certificate for 127.0.0.1 and localhost.
type Cert struct {
	TLS      tls.Certificate
	PEM      string // the certificate, PEM-encoded, usable as a CA
	NotAfter time.Time
}

// NewCert makes a self-signed certificate valid for validFor from now.
func NewCert(tb testing.TB, validFor time.Duration) Cert {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	notAfter := time.Now().Add(validFor).Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "vigil-test"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	return Cert{
		TLS:      tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		PEM:      string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		NotAfter: notAfter,
	}
}

// ClosedPort returns a loopback address on which nothing listens.
func ClosedPort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Listen opens a loopback TCP listener that the test's cleanup closes.
func Listen(tb testing.TB) net.Listener {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// Accept accepts and holds connections on l until the test ends, running handle on each (may be nil).
func Accept(tb testing.TB, l net.Listener, handle func(net.Conn)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if handle != nil {
				handle(c)
			}
			c.Close()
		}
	}()
	tb.Cleanup(func() { l.Close(); <-done })
}

// NewGRPC starts a gRPC server on loopback with whatever register adds (nothing: the health
// service is unimplemented); cert non-nil serves TLS. It returns the server's address.
func NewGRPC(tb testing.TB, register func(*grpc.Server), cert *Cert) string {
	tb.Helper()
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(&cert.TLS)))
	}
	srv := grpc.NewServer(opts...)
	if register != nil {
		register(srv)
	}
	l := Listen(tb)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	tb.Cleanup(func() { srv.Stop(); <-done })
	return l.Addr().String()
}

// NewGRPCHealth starts a gRPC server with the standard health service and returns its address and
// the health server, on which the test sets statuses.
func NewGRPCHealth(tb testing.TB, cert *Cert) (string, *health.Server) {
	tb.Helper()
	hs := health.NewServer()
	addr := NewGRPC(tb, func(s *grpc.Server) { healthpb.RegisterHealthServer(s, hs) }, cert)
	return addr, hs
}

// FixedHealth answers every Check with one status; it is how a server that reports
// SERVICE_UNKNOWN from Check (the standard server answers NotFound instead) is tested.
type FixedHealth struct {
	healthpb.UnimplementedHealthServer
	Status healthpb.HealthCheckResponse_ServingStatus
}

// Check implements healthpb.HealthServer.
func (f *FixedHealth) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return &healthpb.HealthCheckResponse{Status: f.Status}, nil
}
