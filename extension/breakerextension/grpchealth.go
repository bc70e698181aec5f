package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
)

// healthServer answers the gRPC health protocol with breaker states: the service name is the
// target. Closed and half-open serve, open does not (forced_open does not, forced_closed and
// disabled do). An unknown target and the empty name (the server itself) serve: callers must
// not fail closed on a new service.
type healthServer struct {
	healthpb.UnimplementedHealthServer
	ext *breakerExtension
}

func registerHealth(s *grpc.Server, e *breakerExtension) {
	healthpb.RegisterHealthServer(s, &healthServer{ext: e})
}

func (h *healthServer) servingStatus(service string) healthpb.HealthCheckResponse_ServingStatus {
	if service == "" {
		return healthpb.HealthCheckResponse_SERVING
	}
	// In disabled mode State reports the machine (which may be open), but nothing is blocked.
	st, _ := h.ext.registry.State(service)
	if st == breakerfeed.Open && h.ext.registry.Mode(service) != breaker.ModeDisabled {
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	return healthpb.HealthCheckResponse_SERVING
}

func (h *healthServer) validate(service string) error {
	if service == "" {
		return nil
	}
	if err := breaker.ValidateTarget(service, h.ext.cfg.MaxTargetLength); err != nil {
		return status.Error(codes.InvalidArgument, "service: "+err.Error())
	}
	return nil
}

// Check answers the current status of one target.
func (h *healthServer) Check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if err := h.validate(req.GetService()); err != nil {
		return nil, err
	}
	return &healthpb.HealthCheckResponse{Status: h.servingStatus(req.GetService())}, nil
}

// Watch sends the current status of one target, then every change, until the client goes away
// or the extension shuts down.
func (h *healthServer) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	service := req.GetService()
	if err := h.validate(service); err != nil {
		return err
	}
	sub, cancel, err := h.ext.hub.Subscribe()
	if err != nil {
		return status.Error(codes.ResourceExhausted, err.Error())
	}
	defer cancel()
	last := h.servingStatus(service)
	if err := stream.Send(&healthpb.HealthCheckResponse{Status: last}); err != nil {
		return err
	}
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case tr, open := <-sub.C:
			if !open {
				return status.Error(codes.Unavailable, "breaker extension is shutting down")
			}
			if tr.Target != service || tr.Caller != "" {
				continue
			}
			if now := h.servingStatus(service); now != last {
				last = now
				if err := stream.Send(&healthpb.HealthCheckResponse{Status: now}); err != nil {
					return err
				}
			}
		}
	}
}
