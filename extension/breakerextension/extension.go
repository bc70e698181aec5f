package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/metadata"
	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// The feeding interfaces other components type-assert for: a method that drifted from one would
// leave them on a slower path without a word.
var (
	_ breakerfeed.Feeder            = (*breakerExtension)(nil)
	_ breakerfeed.BatchFeeder       = (*breakerExtension)(nil)
	_ breakerfeed.TimedCallerFeeder = (*breakerExtension)(nil)
	_ breakerfeed.CallerFeeder      = (*breakerExtension)(nil)
	_ breakerfeed.ModeFeeder        = (*breakerExtension)(nil)
)

// breakerExtension holds the breakers. Its HTTP API is mounted on the status extension's server;
// it serves gRPC health itself. The registry exists from creation, so a component that finds the
// extension through host.GetExtensions() may feed it at any time.
type breakerExtension struct {
	cfg       *Config
	telemetry component.TelemetrySettings
	registry  *breaker.Registry
	callers   *breaker.Registry // each caller's own view of a callee, keyed caller→callee
	hub       *hub              // gRPC health Watch streams
	metrics   *metrics
	promReg   *prometheus.Registry
	status    atomic.Pointer[statusRef]  // where transitions are published, once started
	tb        *metadata.TelemetryBuilder // the collector's own telemetry, from Start to Shutdown

	grpcServer *grpc.Server
	grpcAddr   string
	wg         sync.WaitGroup
	stopOnce   sync.Once
}

type statusRef struct{ p statusfeed.Publisher }

var (
	_ extension.Extension             = (*breakerExtension)(nil)
	_ breakerfeed.Feeder              = (*breakerExtension)(nil)
	_ breakerfeed.TimedFeeder         = (*breakerExtension)(nil)
	_ breakerfeed.ModeFeeder          = (*breakerExtension)(nil)
	_ extensioncapabilities.Dependent = (*breakerExtension)(nil)
)

func newExtension(cfg *Config, telemetry component.TelemetrySettings, clock breaker.Clock) *breakerExtension {
	e := &breakerExtension{
		cfg:       cfg,
		telemetry: telemetry,
		hub:       newHub(cfg.Watch.MaxSubscribers, cfg.Watch.Buffer),
		promReg:   prometheus.NewRegistry(),
	}
	e.metrics = newMetrics()
	e.registry = breaker.New(cfg.settings(), clock, e.onTransition)
	e.callers = breaker.New(callerSettings(cfg.settings()), clock, e.onCallerTransition)
	e.metrics.registry = e.registry
	e.metrics.hub = e.hub
	e.promReg.MustRegister(e.metrics)
	return e
}

// onTransition runs after every transition, outside the breaker's locks.
func (e *breakerExtension) onTransition(tr breaker.Transition) {
	e.metrics.countTransition(tr)
	e.hub.Publish(tr)
	if ref := e.status.Load(); ref != nil {
		ref.p.PublishTransition(publicTransition(tr))
	}
	if tr.To == breakerfeed.Open.String() || tr.Reason == breaker.ReasonOverride {
		e.telemetry.Logger.Info("breaker transition",
			zap.String("target", tr.Target), zap.String("from", tr.From), zap.String("to", tr.To),
			zap.String("reason", tr.Reason), zap.String("class", tr.Class),
			zap.Uint64("calls", tr.Counts.Calls), zap.Uint64("failures", tr.Counts.Failures))
	}
}

// publicTransition is a transition as the status extension publishes it.
func publicTransition(tr breaker.Transition) statusfeed.Transition {
	counts, _ := json.Marshal(tr.Counts)
	return statusfeed.Transition{Target: tr.Target, Caller: tr.Caller, From: tr.From, To: tr.To, At: tr.At, Mode: tr.Mode,
		Reason: tr.Reason, Class: tr.Class, Counts: counts, RetryAt: tr.Retry}
}

// Dependencies implements extensioncapabilities.Dependent: the status extension starts first,
// so the breaker's API is mounted on a server that exists.
func (e *breakerExtension) Dependencies() []component.ID {
	if e.cfg.StatusExtension == (component.ID{}) {
		return nil
	}
	return []component.ID{e.cfg.StatusExtension}
}

// Start mounts the HTTP API on the status extension and, when configured, serves the gRPC
// health service.
func (e *breakerExtension) Start(ctx context.Context, host component.Host) error {
	pub, err := statusfeed.Find(host, e.cfg.StatusExtension)
	if err != nil {
		return err
	}
	if pub != nil {
		router, ok := pub.(statusfeed.Router)
		if !ok {
			return fmt.Errorf("extension %q does not serve HTTP (it does not implement statusfeed.Router)", e.cfg.StatusExtension)
		}
		if err := e.mount(router); err != nil {
			return err
		}
		e.status.Store(&statusRef{p: pub})
	}
	tb, err := metadata.NewTelemetryBuilder(e.telemetry)
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	if err := tb.RegisterObservables(e.metrics.observe(tb)); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	e.tb = tb
	if e.cfg.GRPC.HasValue() {
		gcfg := e.cfg.GRPC.Get()
		e.grpcServer, err = gcfg.ToServer(ctx, host.GetExtensions(), e.telemetry)
		if err != nil {
			return fmt.Errorf("grpc server: %w", err)
		}
		registerHealth(e.grpcServer, e)
		gln, err := gcfg.NetAddr.Listen(ctx)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", gcfg.NetAddr.Endpoint, err)
		}
		e.grpcAddr = gln.Addr().String()
		e.wg.Go(func() {
			if err := e.grpcServer.Serve(gln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
			}
		})
	}
	return nil
}

// Shutdown ends the watch streams, then stops the gRPC server and waits for it.
func (e *breakerExtension) Shutdown(ctx context.Context) error {
	var err error
	e.stopOnce.Do(func() {
		e.hub.Close()
		if e.grpcServer != nil {
			// Past the deadline, the streams still open are cut.
			await(ctx, e.grpcServer.GracefulStop, e.grpcServer.Stop)
		}
		e.status.Store(nil)
		err = errors.Join(err, await(ctx, e.wg.Wait, nil))
		if e.tb != nil {
			err = errors.Join(err, e.tb.Shutdown())
		}
	})
	return err
}

// await runs wait (in a goroutine) until it returns or ctx ends. When ctx ends first, stop, if
// not nil, is called and wait is awaited still; without stop, ctx's error is returned at once.
func await(ctx context.Context, wait, stop func()) error {
	done := make(chan struct{})
	go func() {
		wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if stop == nil {
			return ctx.Err()
		}
		stop()
		<-done
		return nil
	}
}

// RecordOutcome implements breakerfeed.Feeder.
func (e *breakerExtension) RecordOutcome(target string, o breakerfeed.Outcome) {
	e.registry.RecordOutcome(target, o)
}

// RecordOutcomeAt implements breakerfeed.TimedFeeder.
func (e *breakerExtension) RecordOutcomeAt(target string, o breakerfeed.Outcome, now time.Time) {
	e.registry.RecordOutcomeAt(target, o, now)
}

// RecordOutcomesAt implements breakerfeed.BatchFeeder.
func (e *breakerExtension) RecordOutcomesAt(target string, os []breakerfeed.Outcome, now time.Time) {
	e.registry.RecordOutcomesAt(target, os, now)
}

// RecordProbe implements breakerfeed.Feeder.
func (e *breakerExtension) RecordProbe(target string, ok bool) { e.registry.RecordProbe(target, ok) }

// Allow implements breakerfeed.Feeder.
func (e *breakerExtension) Allow(target string) bool { return e.registry.Allow(target) }

// State implements breakerfeed.Feeder.
func (e *breakerExtension) State(target string) (breakerfeed.State, bool) {
	return e.registry.State(target)
}

// States implements breakerfeed.Feeder.
func (e *breakerExtension) States(fn func(string, breakerfeed.State) bool) { e.registry.States(fn) }

// StatesWithMode implements breakerfeed.ModeFeeder.
func (e *breakerExtension) StatesWithMode(fn func(string, breakerfeed.State, string) bool) {
	e.registry.StatesWithMode(fn)
}
