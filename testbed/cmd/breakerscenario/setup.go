package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/vigil-collector/vigil/clients/go/vigilbreaker"
)

// kindsOf are the ways of deciding a phase runs side by side: the client without a probe only
// in the outage, where its trials alone must find the recovery.
func kindsOf(p *phase) []string {
	if p.recoverAt > 0 {
		return []string{kindBefore, kindClient, kindTrials, kindGobreaker}
	}
	return []string{kindBefore, kindClient, kindGobreaker}
}

// shortKind names a kind in target names.
var shortKind = map[string]string{kindBefore: "get", kindClient: "client", kindTrials: "trials", kindGobreaker: "gobreaker"}

// planCallers returns one caller per (phase, rate, kind), each with its own target service, so
// no way of deciding learns from another's calls. Only the client with a probe has one.
func planCallers(phases []*phase, rates []int) []*caller {
	var out []*caller
	for _, p := range phases {
		for _, rate := range rates {
			for _, kind := range kindsOf(p) {
				out = append(out, &caller{kind: kind, phase: p, rate: rate, probe: kind == kindClient,
					target: fmt.Sprintf("checkout-%s-%d-%s", p.name, rate, shortKind[kind])})
			}
		}
	}
	return out
}

// callerName is the instrumented caller's service name.
func (c *caller) callerName() string { return "frontend-" + c.target }

// service is the callee: one HTTP server on loopback serving every target.
type service struct {
	srv  *server
	hs   *http.Server
	addr string
	http *http.Client
}

func startService(callers []*caller) (*service, error) {
	srv := &server{targets: map[string]*serverTarget{}}
	for _, c := range callers {
		srv.targets[c.target] = &serverTarget{phase: c.phase}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /svc/{target}", srv)
	mux.HandleFunc("GET /health/{target}", srv.health)
	s := &service{srv: srv, addr: l.Addr().String(),
		hs:   &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}},
	}
	go func() { _ = s.hs.Serve(l) }()
	return s, nil
}

func (s *service) close() {
	s.http.CloseIdleConnections()
	_ = s.hs.Close()
}

// probes are the healthcheck receiver's targets: the health endpoint of each target whose
// caller has a probe.
func (s *service) probes(callers []*caller) []probe {
	var out []probe
	for _, c := range callers {
		if c.probe {
			out = append(out, probe{service: c.target, url: "http://" + s.addr + "/health/" + c.target})
		}
	}
	return out
}

// startCallers gives each caller its way of deciding and, when instrumented, its SDK and its
// target's; it waits until every client's subscription is up. stop shuts the SDKs (flushing
// their spans) and the clients down.
func startCallers(ctx context.Context, callers []*caller, svc *service, col *collector) (stop func(), err error) {
	var tracings []*tracing
	var clients []*vigilbreaker.Client
	stop = func() {
		for _, t := range tracings {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = t.tp.Shutdown(sctx)
			cancel()
		}
		for _, c := range clients {
			_ = c.Close()
		}
	}
	for _, c := range callers {
		c.http, c.api, c.svcURL = svc.http, col.API, "http://"+svc.addr+"/svc/"+c.target
		if c.kind == kindGobreaker {
			c.gb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
				Name: c.target, Timeout: 10 * time.Second,
				ReadyToTrip: func(cnt gobreaker.Counts) bool { return cnt.ConsecutiveFailures >= 5 },
			})
			continue
		}
		st := svc.srv.targets[c.target]
		if c.tracing, err = newTracing(ctx, c.callerName(), col.OTLP); err != nil {
			return stop, err
		}
		if st.tracing, err = newTracing(ctx, c.target, col.OTLP); err != nil {
			return stop, err
		}
		tracings = append(tracings, c.tracing, st.tracing)
		if c.kind == kindClient || c.kind == kindTrials {
			if c.client, err = vigilbreaker.New(vigilbreaker.Config{Endpoint: col.API, Caller: c.callerName()}); err != nil {
				return stop, err
			}
			clients = append(clients, c.client)
		}
	}
	return stop, waitSubscribed(clients)
}

// waitSubscribed waits up to 5 s for every client's subscription.
func waitSubscribed(clients []*vigilbreaker.Client) error {
	deadline := time.Now().Add(5 * time.Second)
	for _, c := range clients {
		for !c.Stats().Connected {
			if time.Now().After(deadline) {
				return errNotSubscribed
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}
