package healthcheckreceiver

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/metadata"
)

// scheduler runs each target's probes on the target's own interval, in one goroutine per target:
// at most one probe of a target is in flight, and a hung target delays no other. Each target
// starts at a random offset inside its interval, so targets sharing an interval do not all fire
// at once.
type scheduler struct {
	telemetry *metadata.TelemetryBuilder
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

var (
	outcomeSuccess = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "success")))
)

// start launches every target's loop; probing begins after initialDelay.
func (s *scheduler) start(targets []*target, initialDelay time.Duration) {
	s.ctx, s.cancel = context.WithCancel(context.Background())
	begin := time.Now().Add(initialDelay)
	for _, t := range targets {
		first := begin.Add(rand.N(t.interval))
		s.wg.Go(func() { s.run(t, first) })
	}
}

// stop cancels in-flight probes and waits for every loop to end.
func (s *scheduler) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.wg.Wait()
}

func (s *scheduler) run(t *target, next time.Time) {
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-timer.C:
		}
		started := time.Now()
		s.telemetry.ProbeScheduleDrift.Record(s.ctx, started.Sub(next).Seconds())

		ctx, cancel := context.WithTimeout(s.ctx, t.timeout)
		res := t.prober.Probe(ctx)
		cancel()
		if s.ctx.Err() != nil {
			return // shutting down: a probe cut short says nothing about the target
		}
		t.record(res)
		if res.OK() {
			s.telemetry.Probes.Add(s.ctx, 1, outcomeSuccess)
		} else {
			s.telemetry.Probes.Add(s.ctx, 1, metric.WithAttributes(attribute.String("outcome", res.ErrorType)))
		}

		next = next.Add(t.interval)
		if now := time.Now(); !next.After(now) {
			missed := int64(now.Sub(next)/t.interval) + 1
			next = next.Add(time.Duration(missed) * t.interval)
			s.telemetry.ProbesMissed.Add(s.ctx, missed)
		}
		timer.Reset(time.Until(next))
	}
}
