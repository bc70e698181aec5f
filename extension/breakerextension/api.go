package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
)

// keepaliveEvery is how often an idle watch stream sends a comment line, so proxies and
// clients see it alive.
const keepaliveEvery = 15 * time.Second

// routes returns the API's handler. Every error answers with a JSON body {"error": "..."}.
func (e *breakerExtension) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/breakers", e.handleList)
	mux.HandleFunc("GET /v1/breakers/{target}", e.handleGet)
	mux.HandleFunc("PUT /v1/breakers/{target}/override", e.handleOverride)
	mux.HandleFunc("POST /v1/breakers/{target}/trials", e.handleTrial)
	mux.HandleFunc("GET /v1/watch", e.handleWatch)
	mux.HandleFunc("GET /v1/dependencies", e.handleDependencies)
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.promReg, promhttp.HandlerOpts{}))
	// The same paths with any other method, and everything else, answer in JSON too.
	for _, p := range []string{"/v1/breakers", "/v1/breakers/{target}", "/v1/breakers/{target}/override", "/v1/breakers/{target}/trials", "/v1/watch", "/v1/dependencies", "/metrics"} {
		mux.HandleFunc(p, methodNotAllowed)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return mux
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path)
}

// writeJSON writes v as JSON. encoding/json escapes <, > and & and replaces invalid UTF-8, so a
// hostile target name cannot break out of the document or into an HTML page showing it.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(errorBody{Error: msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// target reads and validates the {target} path value, answering 400 when it is invalid.
func (e *breakerExtension) target(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("target")
	if err := breaker.ValidateTarget(name, e.cfg.MaxTargetLength); err != nil {
		writeError(w, http.StatusBadRequest, "target: "+err.Error())
		return "", false
	}
	return name, true
}

type listBody struct {
	Breakers []breaker.Status `json:"breakers"`
}

func (e *breakerExtension) handleList(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, listBody{Breakers: e.registry.List()})
}

// statusBody is a target's fleet-wide status, and with ?caller= that caller's own view of it
// beside; allow is then both views' verdict.
type statusBody struct {
	breaker.Status
	CallerView *breaker.Status `json:"caller_view,omitempty"`
}

// caller reads and validates the optional ?caller= query value, answering 400 when invalid.
func (e *breakerExtension) caller(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.URL.Query().Get("caller")
	if name == "" {
		return "", true
	}
	err := breaker.ValidateTarget(name, e.cfg.MaxTargetLength)
	if err == nil && strings.Contains(name, callerSep) {
		err = fmt.Errorf("must not hold %q", callerSep)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "caller: "+err.Error())
		return "", false
	}
	return name, true
}

// handleGet answers one target's status. It is a decision (in half-open it takes an admission
// slot, as Allow does) unless ?peek=true.
func (e *breakerExtension) handleGet(w http.ResponseWriter, r *http.Request) {
	name, ok := e.target(w, r)
	if !ok {
		return
	}
	caller, ok := e.caller(w, r)
	if !ok {
		return
	}
	peek := false
	if v := r.URL.Query().Get("peek"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "peek: must be true or false")
			return
		}
		peek = b
	}
	body := statusBody{Status: e.registry.Status(name, !peek)}
	if caller != "" {
		cv := e.callerStatus(caller, name, !peek)
		body.CallerView = &cv
		body.Allow = body.Allow && cv.Allow
	}
	writeJSON(w, http.StatusOK, body)
}

type overrideBody struct {
	Mode string `json:"mode"`
}

// trialBody is a client's trial call result: did the target answer (in time)?
type trialBody struct {
	OK     *bool  `json:"ok"`
	Caller string `json:"caller,omitempty"`
}

// decodeOne decodes exactly one JSON object of at most limit bytes from the request into v,
// answering the error itself and returning false when it cannot.
func decodeOne(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxOverrideBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", tooBig.Limit))
			return false
		}
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "body: must hold one JSON object")
		return false
	}
	return true
}

// handleTrial records a client's trial call result for the fleet-wide breaker (and, with a
// caller, for its own view): a pass ends an open backoff and counts in a half-open step, a
// failure re-opens a half-open breaker. A target Vigil does not know answers 404.
func (e *breakerExtension) handleTrial(w http.ResponseWriter, r *http.Request) {
	name, ok := e.target(w, r)
	if !ok {
		return
	}
	var body trialBody
	if !decodeOne(w, r, &body) {
		return
	}
	if body.OK == nil {
		writeError(w, http.StatusBadRequest, "ok: required (true or false)")
		return
	}
	if body.Caller != "" && !e.validPair(body.Caller, name) {
		writeError(w, http.StatusBadRequest, "caller: invalid name")
		return
	}
	known := e.registry.RecordTrial(name, *body.OK)
	if body.Caller != "" {
		known = e.callers.RecordTrial(body.Caller+callerSep+name, *body.OK) || known
	}
	if !known {
		writeError(w, http.StatusNotFound, "target: not known")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *breakerExtension) handleOverride(w http.ResponseWriter, r *http.Request) {
	name, ok := e.target(w, r)
	if !ok {
		return
	}
	var body overrideBody
	if !decodeOne(w, r, &body) {
		return
	}
	mode, ok := breaker.ParseMode(body.Mode)
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("mode: %q is not one of auto, forced_open, forced_closed, disabled", body.Mode))
		return
	}
	st, err := e.registry.SetMode(name, mode)
	if errors.Is(err, breaker.ErrTargetsFull) {
		writeError(w, http.StatusServiceUnavailable, "target: "+err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "target: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// handleWatch streams every fleet-wide transition as a server-sent event ("event: transition",
// the transition as JSON in "data:"), optionally only those of ?target=NAME; with ?caller=NAME
// also that caller's own views' transitions (with "caller" set).
func (e *breakerExtension) handleWatch(w http.ResponseWriter, r *http.Request) {
	caller, ok := e.caller(w, r)
	if !ok {
		return
	}
	only := r.URL.Query().Get("target")
	if only != "" {
		if err := breaker.ValidateTarget(only, e.cfg.MaxTargetLength); err != nil {
			writeError(w, http.StatusBadRequest, "target: "+err.Error())
			return
		}
	}
	sub, cancel, err := e.hub.subscribe()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "watch: "+err.Error())
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
	if _, err := io.WriteString(w, ": watching breaker transitions\n\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
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
		case tr, open := <-sub.C:
			if !open {
				return
			}
			if (only != "" && tr.Target != only) || (tr.Caller != "" && tr.Caller != caller) {
				continue
			}
			data, err := json.Marshal(tr)
			if err != nil {
				continue
			}
			id++
			// JSON holds no raw newline, so one data: line carries the whole event.
			if _, err := fmt.Fprintf(w, "id: %d\nevent: transition\ndata: %s\n\n", id, data); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
