package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

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
		{"POST /v1/breakers/{target}/trials", http.HandlerFunc(e.handleTrial)},
		{"GET /metrics", promhttp.HandlerFor(e.promReg, promhttp.HandlerOpts{})},
	}
	// The same paths with any other method answer in JSON too.
	for _, p := range []string{"/v1/breakers", "/v1/breakers/{target}", "/v1/breakers/{target}/override", "/v1/breakers/{target}/trials", "/metrics"} {
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
		httpjson.Error(w, http.StatusBadRequest, "caller: "+err.Error())
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
			httpjson.Error(w, http.StatusBadRequest, "peek: must be true or false")
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
	httpjson.Write(w, http.StatusOK, body)
}

// decodeOverride reads the override body strictly: one JSON object whose only key is exactly
// "mode" (encoding/json would match "MODE" and keep the last of duplicate keys), holding a string.
func decodeOverride(r io.Reader) (string, error) {
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil {
		return "", err
	} else if tok != json.Delim('{') {
		return "", errors.New(`must be a JSON object such as {"mode":"forced_open"}`)
	}
	var mode string
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		key, _ := tok.(string)
		switch {
		case key != "mode":
			return "", fmt.Errorf("unknown field %q (the only field is \"mode\", in lower case)", key)
		case seen:
			return "", errors.New(`duplicate field "mode"`)
		}
		seen = true
		if err := dec.Decode(&mode); err != nil {
			return "", fmt.Errorf("mode: %w", err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return "", err
	}
	if !seen {
		return "", errors.New(`missing field "mode"`)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", errors.New("must hold one JSON object")
	}
	return mode, nil
}

// trialBody is a client's trial call result: did the target answer (in time)?
type trialBody struct {
	OK     *bool  `json:"ok"`
	Caller string `json:"caller,omitempty"`
}

// decodeOne decodes exactly one JSON object of at most limit bytes from the request into v,
// answering the error itself and returning false when it cannot. Field names must match v's JSON
// names exactly and appear once (encoding/json alone matches any case and keeps the last of
// duplicates).
func decodeOne(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOverrideBody))
	if err == nil {
		err = strictKeys(raw, jsonNames(v))
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
		if _, terr := dec.Token(); err == nil && !errors.Is(terr, io.EOF) {
			err = errors.New("must hold one JSON object")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig):
		httpjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", tooBig.Limit))
	default:
		httpjson.Error(w, http.StatusBadRequest, "body: "+err.Error())
	}
	return false
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
		httpjson.Error(w, http.StatusBadRequest, "ok: required (true or false)")
		return
	}
	if body.Caller != "" && !e.validPair(body.Caller, name) {
		httpjson.Error(w, http.StatusBadRequest, "caller: invalid name")
		return
	}
	known := e.registry.RecordTrial(name, *body.OK)
	if body.Caller != "" {
		known = e.callers.RecordTrial(body.Caller+callerSep+name, *body.OK) || known
	}
	if !known {
		httpjson.Error(w, http.StatusNotFound, "target: not known")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *breakerExtension) handleOverride(w http.ResponseWriter, r *http.Request) {
	name, ok := e.target(w, r)
	if !ok {
		return
	}
	raw, err := decodeOverride(http.MaxBytesReader(w, r.Body, maxOverrideBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", tooBig.Limit))
			return
		}
		httpjson.Error(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	mode, ok := breaker.ParseMode(raw)
	if !ok {
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("mode: %q is not one of auto, forced_open, forced_closed, disabled", raw))
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

// jsonNames returns the JSON field names of the struct v points to.
func jsonNames(v any) map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// strictKeys checks that raw is a JSON object whose keys are all in allowed, exactly, and unique.
func strictKeys(raw []byte, allowed map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil {
		return err
	} else if tok != json.Delim('{') {
		return errors.New("must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		switch {
		case !allowed[key]:
			return fmt.Errorf("unknown field %q (field names are exact, in lower case)", key)
		case seen[key]:
			return fmt.Errorf("duplicate field %q", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}
