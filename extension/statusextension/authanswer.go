package statusextension

import (
	"net/http"
	"strings"
)

// authRealm names the API in WWW-Authenticate.
const authRealm = "vigil-breaker"

// unauthorizedBody is the JSON answer to a request the authenticator refused.
const unauthorizedBody = `{"error":"unauthorized: send a valid token as Authorization: Bearer <token>"}` + "\n"

// authAnswers wraps the server's handler (authenticator included) so that the scheme of an
// Authorization header is matched case-insensitively (RFC 9110 11.1: "bearer" is "Bearer"), and so
// that a refusal answers like the rest of the API: JSON, with a WWW-Authenticate challenge
// (RFC 6750 3), instead of the authenticator's text/plain.
func authAnswers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); len(h) > len("Bearer ") && strings.EqualFold(h[:len("Bearer ")], "Bearer ") {
			r.Header.Set("Authorization", "Bearer "+strings.TrimLeft(h[len("Bearer "):], " "))
		}
		next.ServeHTTP(&authWriter{ResponseWriter: w}, r)
	})
}

// authWriter turns a 401 written by the authenticator into the API's JSON error.
type authWriter struct {
	http.ResponseWriter
	swallow bool // the authenticator's text body is replaced
}

func (a *authWriter) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		h := a.Header()
		h.Set("WWW-Authenticate", `Bearer realm="`+authRealm+`"`)
		if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			h.Del("Content-Length")
			h.Set("Content-Type", "application/json")
			h.Set("X-Content-Type-Options", "nosniff")
			a.swallow = true
			a.ResponseWriter.WriteHeader(code)
			_, _ = a.ResponseWriter.Write([]byte(unauthorizedBody))
			return
		}
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *authWriter) Write(b []byte) (int, error) {
	if a.swallow {
		return len(b), nil
	}
	return a.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines (the watch stream needs them).
func (a *authWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }
