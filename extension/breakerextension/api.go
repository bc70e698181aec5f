package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
	"github.com/vigil-collector/vigil/internal/httpjson"
)

// route is one endpoint of the breaker's HTTP API.
type route struct {
	pattern string
	handler http.Handler
}

// apiRoutes lists the breaker's HTTP API. Every error answers with a JSON body {"error": "..."}.
func (e *breakerExtension) apiRoutes() []route {
	rs := []route{
		{"GET /v1/breakers", http.HandlerFunc(e.handleList)},
		{"GET /v1/breakers/{target}", http.HandlerFunc(e.handleGet)},
		{"PUT /v1/breakers/{target}/override", http.HandlerFunc(e.handleOverride)},
		{"GET /metrics", promhttp.HandlerFor(e.promReg, promhttp.HandlerOpts{})},
	}
	// The same paths with any other method answer in JSON too.
	for _, p := range []string{"/v1/breakers", "/v1/breakers/{target}", "/v1/breakers/{target}/override", "/metrics"} {
		rs = append(rs, route{p, http.HandlerFunc(httpjson.MethodNotAllowed)})
	}
	return rs
}

// mount registers the API on the status extension's server.
func (e *breakerExtension) mount(r statusfeed.Router) error {
	for _, rt := range e.apiRoutes() {
		if err := r.Handle(rt.pattern, rt.handler); err != nil {
			return err
		}
	}
	return nil
}

// target reads and validates the {target} path value, answering 400 when it is invalid.
func (e *breakerExtension) target(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("target")
	if err := breaker.ValidateTarget(name, e.cfg.MaxTargetLength); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "target: "+err.Error())
		return "", false
	}
	return name, true
}

type listBody struct {
	Breakers []breaker.Status `json:"breakers"`
}

func (e *breakerExtension) handleList(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, listBody{Breakers: e.registry.List()})
}

// handleGet answers one target's status. It is a decision (in half-open it takes an admission
// slot, as Allow does) unless ?peek=true.
func (e *breakerExtension) handleGet(w http.ResponseWriter, r *http.Request) {
	name, ok := e.target(w, r)
	if !ok {
		return
	}
	peek := false
	if v := r.URL.Query().Get("peek"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, "peek: must be true or false")
			return
		}
		peek = b
	}
	httpjson.Write(w, http.StatusOK, e.registry.Status(name, !peek))
}

type overrideBody struct {
	Mode string `json:"mode"`
}

func (e *breakerExtension) handleOverride(w http.ResponseWriter, r *http.Request) {
	name, ok := e.target(w, r)
	if !ok {
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxOverrideBody))
	dec.DisallowUnknownFields()
	var body overrideBody
	if err := dec.Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", tooBig.Limit))
			return
		}
		httpjson.Error(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		httpjson.Error(w, http.StatusBadRequest, "body: must hold one JSON object")
		return
	}
	mode, ok := breaker.ParseMode(body.Mode)
	if !ok {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("mode: %q is not one of auto, forced_open, forced_closed, disabled", body.Mode))
		return
	}
	st, err := e.registry.SetMode(name, mode)
	if errors.Is(err, breaker.ErrTargetsFull) {
		httpjson.Error(w, http.StatusServiceUnavailable, "target: "+err.Error())
		return
	}
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, "target: "+err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, st)
}
