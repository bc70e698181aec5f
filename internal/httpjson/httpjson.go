// Package httpjson writes the JSON answers of Vigil's API: one document per response, errors as
// {"error": "..."}, with the headers every answer carries.
package httpjson // import "github.com/vigil-collector/vigil/internal/httpjson"

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Write writes v as JSON with status. encoding/json escapes <, > and & and replaces invalid
// UTF-8, so a hostile name cannot break out of the document or into an HTML page showing it.
func Write(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		Error(w, http.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	WriteBytes(w, status, buf.Bytes())
}

// WriteBytes writes an already encoded JSON document.
func WriteBytes(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type errorBody struct {
	Error string `json:"error"`
}

// Error writes {"error": msg} with status.
func Error(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(errorBody{Error: msg})
	WriteBytes(w, status, append(b, '\n'))
}

// MethodNotAllowed answers a known path asked with another method.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	Error(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path)
}

// NotFound answers a path nothing serves.
func NotFound(w http.ResponseWriter, r *http.Request) {
	Error(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
}
