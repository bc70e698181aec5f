package breakerextension

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
)

func healthClient(t *testing.T, r *running) healthpb.HealthClient {
	t.Helper()
	conn, err := grpc.NewClient(r.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return healthpb.NewHealthClient(conn)
}

func TestGRPCHealthCheck(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	c := healthClient(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	check := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		require.NoError(t, err)
		return resp.GetStatus()
	}
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, check(""), "the server itself")
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, check("never-seen"), "unknown targets serve")
	r.fail("payments", 8)
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, check("payments"))
	r.clock.Advance(time.Hour)
	r.Allow("payments") // half-open
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, check("payments"), "half-open serves")
	_, err := r.registry.SetMode("payments", breaker.ModeForcedOpen)
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, check("payments"))
	_, err = r.registry.SetMode("payments", breaker.ModeDisabled)
	require.NoError(t, err)
	r.fail("payments", 8)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, check("payments"), "disabled never blocks")

	_, err = c.Check(ctx, &healthpb.HealthCheckRequest{Service: "bad\x00name"})
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestGRPCHealthWatch(t *testing.T) {
	r := start(t, loopbackConfig(), nil)
	c := healthClient(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := c.Watch(ctx, &healthpb.HealthCheckRequest{Service: "payments"})
	require.NoError(t, err)
	first, err := stream.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, first.GetStatus())
	require.Eventually(t, func() bool { return r.hub.Subscribers() == 1 }, 5*time.Second, 10*time.Millisecond)
	r.fail("payments", 8)
	next, err := stream.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, next.GetStatus())
	r.RecordProbe("payments", true) // open → half-open: serving again
	next, err = stream.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, next.GetStatus())
}
