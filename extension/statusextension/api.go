package statusextension

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-collector/vigil/extension/statusextension/internal/hub"
	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
	"github.com/vigil-collector/vigil/internal/httpjson"
)

// keepaliveEvery is how often an idle watch stream sends a comment line, so proxies and
// clients see it alive.
const keepaliveEvery = 15 * time.Second

// routes registers the extension's own endpoints. Every error answers with a JSON body
// {"error": "..."}.
func (e *statusExtension) routes() {
	m := e.mux
	m.HandleFunc("GET /v1/status", e.handleStatus)
	m.HandleFunc("GET /v1/incidents", e.handleIncidents)
	m.HandleFunc("GET /v1/incidents/{id}", e.handleIncident)
	m.HandleFunc("GET /v1/health/{service}", e.handleHealth)
	m.HandleFunc("GET /v1/dependencies", e.handleDependencies)
	m.HandleFunc("GET /v1/watch", e.handleWatch)
	for _, p := range []string{"/v1/status", "/v1/incidents", "/v1/incidents/{id}", "/v1/health/{service}", "/v1/dependencies", "/v1/watch"} {
		m.HandleFunc(p, httpjson.MethodNotAllowed)
	}
	if e.cfg.Page.Enabled {
		e.pageRoutes()
	}
	m.HandleFunc("/", httpjson.NotFound)
}

// bufPool recycles the buffers of status documents (a page of 10,000 components is a few MB).
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// handleStatus answers the overall status and a page of components. ?service=NAME selects one,
// ?status=unhealthy,degraded filters, ?limit= and ?after= page. The ETag is the model's
// version: If-None-Match with it answers 304 without building the document.
func (e *statusExtension) handleStatus(w http.ResponseWriter, r *http.Request) {
	q, err := e.statusQuery(r)
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag(e.hub.Version()) {
		w.Header().Set("ETag", inm)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<20 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	body, v := e.hub.Status(buf, q)
	w.Header().Set("ETag", etag(v))
	w.Header().Set("Cache-Control", "no-cache")
	httpjson.WriteBytes(w, http.StatusOK, body)
}

func etag(version uint64) string { return `"v` + strconv.FormatUint(version, 10) + `"` }

func (e *statusExtension) statusQuery(r *http.Request) (hub.Query, error) {
	v := r.URL.Query()
	q := hub.Query{Limit: e.cfg.API.DefaultLimit}
	if s := v.Get("service"); s != "" {
		if !validName(s, e.cfg.MaxNameLength) {
			return q, fmt.Errorf("service: not a valid service name (1..%d bytes of UTF-8 without control characters)", e.cfg.MaxNameLength)
		}
		q.Service = s
	}
	if s := v.Get("status"); s != "" {
		for _, st := range strings.Split(s, ",") {
			switch st {
			case hub.StatusHealthy, hub.StatusDegraded, hub.StatusUnhealthy, hub.StatusUnknown:
				q.Statuses = append(q.Statuses, st)
			default:
				return q, fmt.Errorf("status: %q is not one of healthy, degraded, unhealthy, unknown", st)
			}
		}
	}
	if s := v.Get("after"); s != "" {
		if !validName(s, e.cfg.MaxNameLength) {
			return q, fmt.Errorf("after: not a valid service name")
		}
		q.After = s
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > e.cfg.API.MaxLimit {
			return q, fmt.Errorf("limit: must be a number between 1 and %d", e.cfg.API.MaxLimit)
		}
		q.Limit = n
	}
	return q, nil
}

type incidentsBody struct {
	Incidents []hub.IncidentView `json:"incidents"`
	// Next is the cursor of the next page (?before=), null on the last.
	Next *string `json:"next"`
}

// handleIncidents lists incidents, newest first, each with its timeline. ?service=, ?state=open
// or resolved, ?limit= and ?before= page.
func (e *statusExtension) handleIncidents(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := hub.IncidentQuery{Limit: min(100, e.cfg.API.MaxIncidentsPerPage)}
	if s := v.Get("service"); s != "" {
		if !validName(s, e.cfg.MaxNameLength) {
			httpjson.Error(w, http.StatusBadRequest, "service: not a valid service name")
			return
		}
		q.Service = s
	}
	switch s := v.Get("state"); s {
	case "", "open", "resolved":
		q.State = s
	default:
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("state: %q is not one of open, resolved", s))
		return
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > e.cfg.API.MaxIncidentsPerPage {
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("limit: must be a number between 1 and %d", e.cfg.API.MaxIncidentsPerPage))
			return
		}
		q.Limit = n
	}
	if s := v.Get("before"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 {
			httpjson.Error(w, http.StatusBadRequest, "before: must be an incident ID")
			return
		}
		q.Before = n
	}
	list, next := e.hub.Incidents(q)
	body := incidentsBody{Incidents: list}
	if next != 0 {
		s := strconv.FormatUint(next, 10)
		body.Next = &s
	}
	httpjson.Write(w, http.StatusOK, body)
}

func (e *statusExtension) handleIncident(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "id: must be an incident ID (a number)")
		return
	}
	inc, ok := e.hub.Incident(id)
	if !ok {
		httpjson.Error(w, http.StatusNotFound, "no incident "+id+" (unknown, or past its retention)")
		return
	}
	httpjson.Write(w, http.StatusOK, inc)
}

// handleHealth answers a load balancer: 200 when the service is healthy, degraded or unknown,
// 503 when it is unhealthy or its breaker refuses calls, with the reason in JSON.
func (e *statusExtension) handleHealth(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("service")
	if !validName(name, e.cfg.MaxNameLength) {
		httpjson.Error(w, http.StatusBadRequest, "service: not a valid service name")
		return
	}
	v, ok := e.hub.Health(name)
	if !ok {
		httpjson.Error(w, http.StatusNotFound, "unknown service: Vigil has no verdict about it")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	code := http.StatusOK
	if !v.Healthy {
		code = http.StatusServiceUnavailable
	}
	httpjson.Write(w, code, v)
}

type edgeJSON struct {
	Caller            string  `json:"caller"`
	Callee            string  `json:"callee"`
	CallsPerSecond    float64 `json:"calls_per_second"`
	ErrorRatio        float64 `json:"error_ratio"`
	LatencyP95Seconds float64 `json:"latency_p95_seconds"`
}

type dependenciesBody struct {
	UpdatedAt *time.Time `json:"updated_at"`
	Edges     []edgeJSON `json:"edges"`
}

// handleDependencies answers the service graph of the last scoring pass; ?service=NAME keeps the
// edges where NAME is the caller or the callee.
func (e *statusExtension) handleDependencies(w http.ResponseWriter, r *http.Request) {
	service := r.URL.Query().Get("service")
	if service != "" && !validName(service, e.cfg.MaxNameLength) {
		httpjson.Error(w, http.StatusBadRequest, "service: not a valid service name")
		return
	}
	at, edges := e.hub.Dependencies(service)
	body := dependenciesBody{Edges: make([]edgeJSON, 0, len(edges))}
	if !at.IsZero() {
		u := at.UTC()
		body.UpdatedAt = &u
	}
	for _, d := range edges {
		body.Edges = append(body.Edges, edgeJSON{Caller: d.Caller, Callee: d.Callee, CallsPerSecond: d.CallsPerSecond,
			ErrorRatio: d.ErrorRatio, LatencyP95Seconds: d.LatencyP95.Seconds()})
	}
	httpjson.Write(w, http.StatusOK, body)
}

// handleWatch streams changes as server-sent events: "transition" (a breaker transition, as the
// breaker's stream always showed it), "component" (a status change or a score move) and
// "incident" (opened, updated, acted, resolved), each with its JSON in one data: line.
// ?service=NAME (or ?target=NAME) keeps one service's events; ?events=transition,incident keeps
// those kinds. A transition of a caller's own view of a callee (with "caller" set) is streamed
// only with ?caller= naming that caller; the fleet-wide transitions are streamed either way.
func (e *statusExtension) handleWatch(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	caller := v.Get("caller")
	if caller != "" && (!validName(caller, e.cfg.MaxNameLength) || strings.Contains(caller, statusfeed.CallerSep)) {
		httpjson.Error(w, http.StatusBadRequest, "caller: not a valid service name")
		return
	}
	only := v.Get("service")
	if t := v.Get("target"); t != "" {
		if only != "" && only != t {
			httpjson.Error(w, http.StatusBadRequest, "target: differs from service (they are the same filter)")
			return
		}
		only = t
	}
	if only != "" && !validName(only, e.cfg.MaxNameLength) {
		httpjson.Error(w, http.StatusBadRequest, "service: not a valid service name")
		return
	}
	kinds := map[string]bool{}
	if s := v.Get("events"); s != "" {
		for _, k := range strings.Split(s, ",") {
			switch k {
			case hub.EventTransition, hub.EventComponent, hub.EventIncident:
				kinds[k] = true
			default:
				httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("events: %q is not one of transition, component, incident", k))
				return
			}
		}
	}
	sub, cancel, err := e.hub.Subscribe()
	if err != nil {
		httpjson.Error(w, http.StatusServiceUnavailable, "watch: "+err.Error())
		return
	}
	defer cancel()
	rc := http.NewResponseController(w)
	// A stream outlives the server's write timeout by design.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, ": watching status changes\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	keepalive := time.NewTicker(keepaliveEvery)
	defer keepalive.Stop()
	var id uint64
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			if _, err := io.WriteString(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case m, open := <-sub.C:
			if !open {
				return
			}
			if (only != "" && m.Service != only) || (len(kinds) > 0 && !kinds[m.Event]) || (m.Caller != "" && m.Caller != caller) {
				continue
			}
			id++
			// JSON holds no raw newline, so one data: line carries the whole event.
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", id, m.Event, m.Data); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
