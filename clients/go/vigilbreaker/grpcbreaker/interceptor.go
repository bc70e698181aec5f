// Package grpcbreaker puts a vigilbreaker.Client in front of gRPC calls.
package grpcbreaker // import "github.com/vigil-collector/vigil/clients/go/vigilbreaker/grpcbreaker"

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigil-collector/vigil/clients/go/vigilbreaker"
)

// UnaryClientInterceptor asks c before each unary call to target and reports how it ended. A
// refused call fails with codes.Unavailable without reaching the network. Unavailable,
// DeadlineExceeded, Internal, Unknown, ResourceExhausted and DataLoss are failures; Canceled
// says nothing; every other code is the target answering (a success for the breaker).
func UnaryClientInterceptor(c *vigilbreaker.Client, target string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		p, ok := c.Allow(target)
		if !ok {
			return status.Error(codes.Unavailable, (&vigilbreaker.OpenError{Target: target}).Error())
		}
		err := invoker(ctx, method, req, reply, cc, opts...)
		p.Done(Outcome(err))
		return err
	}
}

// Outcome classifies a gRPC call's error for the breaker.
func Outcome(err error) vigilbreaker.Outcome {
	if err == nil {
		return vigilbreaker.Success
	}
	switch status.Code(err) {
	case codes.Canceled:
		return vigilbreaker.Ignored
	case codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.Unknown,
		codes.ResourceExhausted, codes.DataLoss:
		return vigilbreaker.Failure
	default:
		return vigilbreaker.Success
	}
}
