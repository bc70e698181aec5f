// Package statusextension is Vigil's one API server and the place that answers "how is my
// system, and why". It owns the HTTP server (endpoint, auth, TLS), the status model fed by the
// other components through statusfeed, the status API (/v1/status, /v1/incidents,
// /v1/health/{service}, /v1/dependencies), the watch stream (/v1/watch) and the status page
// (/). Other components mount their own endpoints on it (the breaker extension's
// /v1/breakers) through statusfeed.Router.
package statusextension // import "github.com/vigil-collector/vigil/extension/statusextension"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"

	"github.com/vigil-collector/vigil/extension/statusextension/internal/hub"
	"github.com/vigil-collector/vigil/extension/statusextension/internal/metadata"
	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// statusExtension holds the model and serves it. The model and the router exist from creation,
// so a component that finds the extension through host.GetExtensions() may publish and mount
// at any time, before or after Start.
type statusExtension struct {
	cfg       *Config
	telemetry component.TelemetrySettings
	hub       *hub.Hub
	mux       *http.ServeMux
	tel       *metadata.TelemetryBuilder

	server   *http.Server
	addr     string // where the API listens, once started
	wg       sync.WaitGroup
	stopOnce sync.Once
}

var (
	_ extension.Extension  = (*statusExtension)(nil)
	_ statusfeed.Publisher = (*statusExtension)(nil)
	_ statusfeed.Router    = (*statusExtension)(nil)
)

func newExtension(cfg *Config, telemetry component.TelemetrySettings) (*statusExtension, error) {
	tel, err := metadata.NewTelemetryBuilder(telemetry)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	e := &statusExtension{
		tel:       tel,
		cfg:       cfg,
		telemetry: telemetry,
		hub: hub.New(hub.Settings{
			MaxComponents:     cfg.MaxComponents,
			MaxNameLength:     cfg.MaxNameLength,
			MaxIncidents:      cfg.Incidents.Max,
			IncidentRetention: cfg.Incidents.Retention,
			MaxEvents:         cfg.Incidents.MaxEvents,
			Critical:          cfg.Critical,
			ScoreChange:       cfg.ScoreChange,
			MaxSubscribers:    cfg.Watch.MaxSubscribers,
			Buffer:            cfg.Watch.Buffer,
		}, nil),
		mux: http.NewServeMux(),
	}
	e.routes()
	return e, nil
}

// stats is what the extension's own telemetry observes.
func (e *statusExtension) stats() metadata.Stats {
	s := e.hub.Stats()
	return metadata.Stats{Components: int64(s.Components), OpenIncidents: int64(s.OpenIncidents),
		WatchStreams: int64(s.WatchStreams), Dropped: int64(s.Dropped), IncidentsRefused: int64(s.IncidentsRefused),
		WatchDropped: int64(s.WatchDropped)}
}

// Start serves the API.
func (e *statusExtension) Start(ctx context.Context, host component.Host) error {
	if err := e.tel.RegisterStatsCallback(e.stats); err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	var err error
	e.server, err = e.cfg.ToServer(ctx, host.GetExtensions(), e.telemetry, e.mux)
	if err == nil {
		e.server.Handler = authAnswers(e.server.Handler)
	}
	if err != nil {
		return fmt.Errorf("status: http server: %w", err)
	}
	ln, err := e.cfg.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("status: listen on %s: %w", e.cfg.NetAddr.Endpoint, err)
	}
	e.addr = ln.Addr().String()
	e.wg.Go(func() {
		if err := e.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	})
	return nil
}

// Shutdown ends the watch streams, then stops the server and waits for it.
func (e *statusExtension) Shutdown(ctx context.Context) error {
	var err error
	e.stopOnce.Do(func() {
		err = e.tel.Shutdown()
		e.hub.Close()
		if e.server != nil {
			if serr := e.server.Shutdown(ctx); serr != nil {
				err = errors.Join(err, serr, e.server.Close())
			}
		}
		done := make(chan struct{})
		go func() {
			e.wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			err = errors.Join(err, ctx.Err())
		}
	})
	return err
}

// Handle implements statusfeed.Router.
func (e *statusExtension) Handle(pattern string, h http.Handler) (err error) {
	if h == nil {
		return fmt.Errorf("status: route %q: nil handler", pattern)
	}
	defer func() {
		// ServeMux panics on an invalid or conflicting pattern; a mount is configuration, so
		// it becomes the mounting component's start error.
		if r := recover(); r != nil {
			err = fmt.Errorf("status: route %q: %v", pattern, r)
		}
	}()
	e.mux.Handle(pattern, h)
	return nil
}

// PublishScores implements statusfeed.Publisher.
func (e *statusExtension) PublishScores(p *statusfeed.Pass) { e.hub.PublishScores(p) }

// PublishTransition implements statusfeed.Publisher.
func (e *statusExtension) PublishTransition(tr statusfeed.Transition) { e.hub.PublishTransition(tr) }

// PublishPredictions implements statusfeed.Publisher.
func (e *statusExtension) PublishPredictions(p []statusfeed.Prediction) { e.hub.PublishPredictions(p) }

// PublishHealing implements statusfeed.Publisher.
func (e *statusExtension) PublishHealing(d statusfeed.HealingDecision) { e.hub.PublishHealing(d) }
