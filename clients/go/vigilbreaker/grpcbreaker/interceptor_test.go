package grpcbreaker

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vigil-collector/vigil/clients/go/vigilbreaker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A real gRPC server on loopback answers, then goes away: the interceptor opens after the
// run of Unavailable errors and refuses without dialling.
func TestInterceptorOpensWhenServerGoesAway(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()

	c, err := vigilbreaker.New(vigilbreaker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(UnaryClientInterceptor(c, "inventory")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	check := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "no-such-service"})
		return err
	}
	// NotFound is the server answering: a success for the breaker.
	for range 5 {
		if err := check(); status.Code(err) != codes.NotFound {
			t.Fatalf("check: %v, want NotFound from a live server", err)
		}
	}
	srv.Stop()
	// A new target's run is 8 (the 10% prior), so 8 Unavailable errors, then refusal.
	for i := range 8 {
		if err := check(); status.Code(err) != codes.Unavailable {
			t.Fatalf("call %d after stop: %v, want Unavailable", i, err)
		}
	}
	err = check()
	if status.Code(err) != codes.Unavailable || c.Stats().LocalOpens != 1 {
		t.Fatalf("after the run: %v, local opens %d; want a refusal", err, c.Stats().LocalOpens)
	}
	if st, _ := c.State("inventory"); st != vigilbreaker.Open {
		t.Fatalf("state %v, want open", st)
	}
}

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want vigilbreaker.Outcome
	}{
		{nil, vigilbreaker.Success},
		{status.Error(codes.NotFound, "x"), vigilbreaker.Success},
		{status.Error(codes.Unavailable, "x"), vigilbreaker.Failure},
		{status.Error(codes.DeadlineExceeded, "x"), vigilbreaker.Failure},
		{status.Error(codes.Canceled, "x"), vigilbreaker.Ignored},
	} {
		if got := Outcome(tc.err); got != tc.want {
			t.Errorf("Outcome(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
