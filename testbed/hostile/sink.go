package hostile

import (
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"

	"github.com/vigil-collector/vigil/testbed/internal/otlp"
)

// DiscardSink is an OTLP/gRPC server of traces and metrics that drops what it receives, noting
// only whether a watched service name came through (the agent forwards to it).
type DiscardSink struct {
	Endpoint string
	Watch    string
	seen     atomic.Bool
	server   *otlp.Server
}

// NewDiscardSink starts the sink on a free loopback port.
func NewDiscardSink(watch string) (*DiscardSink, error) {
	s := &DiscardSink{Watch: watch}
	srv, err := otlp.Serve(otlp.Handlers{Traces: s.note, Metrics: func(pmetric.Metrics) {}}, grpc.MaxRecvMsgSize(64<<20))
	if err != nil {
		return nil, err
	}
	s.Endpoint, s.server = srv.Endpoint, srv
	return s, nil
}

// note marks the watched service as seen when a resource of td carries it.
func (s *DiscardSink) note(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		if v, ok := rss.At(i).Resource().Attributes().Get("service.name"); ok && v.Str() == s.Watch {
			s.seen.Store(true)
		}
	}
}

// Seen reports whether the watched service came through since the last Reset.
func (s *DiscardSink) Seen() bool { return s.seen.Load() }

// Reset forgets what was seen.
func (s *DiscardSink) Reset() { s.seen.Store(false) }

// Stop stops the server.
func (s *DiscardSink) Stop() { s.server.Stop() }
