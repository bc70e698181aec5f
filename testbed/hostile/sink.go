package hostile

import (
	"context"
	"net"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // the collector's OTLP exporter compresses with gzip
)

// DiscardSink is an OTLP/gRPC server that drops what it receives, noting only whether a
// watched service name came through (the agent forwards to it).
type DiscardSink struct {
	Endpoint string
	Watch    string
	seen     atomic.Bool
	server   *grpc.Server
	done     chan struct{}
}

// NewDiscardSink starts the sink on a free loopback port.
func NewDiscardSink(watch string) (*DiscardSink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &DiscardSink{Endpoint: l.Addr().String(), Watch: watch, server: grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20)), done: make(chan struct{})}
	ptraceotlp.RegisterGRPCServer(s.server, &traceDiscard{s: s})
	pmetricotlp.RegisterGRPCServer(s.server, &metricDiscard{s: s})
	go func() {
		defer close(s.done)
		_ = s.server.Serve(l)
	}()
	return s, nil
}

// Seen reports whether the watched service came through since the last Reset.
func (s *DiscardSink) Seen() bool { return s.seen.Load() }

// Reset forgets what was seen.
func (s *DiscardSink) Reset() { s.seen.Store(false) }

// Stop stops the server.
func (s *DiscardSink) Stop() {
	s.server.Stop()
	<-s.done
}

type traceDiscard struct {
	ptraceotlp.UnimplementedGRPCServer
	s *DiscardSink
}

func (t traceDiscard) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	rss := req.Traces().ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		if v, ok := rss.At(i).Resource().Attributes().Get("service.name"); ok && v.Str() == t.s.Watch {
			t.s.seen.Store(true)
		}
	}
	return ptraceotlp.NewExportResponse(), nil
}

type metricDiscard struct {
	pmetricotlp.UnimplementedGRPCServer
	s *DiscardSink
}

func (metricDiscard) Export(context.Context, pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	return pmetricotlp.NewExportResponse(), nil
}
