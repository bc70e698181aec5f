package vigilbreaker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// OpenError is the error the wrappers return for a refused call; errors.Is(err, ErrOpen) holds.
type OpenError struct{ Target string }

func (e *OpenError) Error() string { return fmt.Sprintf("vigilbreaker: circuit open for %q", e.Target) }

// Is makes errors.Is(err, ErrOpen) true.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

// Transport is an http.RoundTripper that asks the client before each request and reports how
// it ended: a transport error or a 5xx answer is a failure, a cancelled request says nothing,
// anything else is a success.
type Transport struct {
	// Client decides; required.
	Client *Client
	// Base makes the requests (default http.DefaultTransport).
	Base http.RoundTripper
	// Target names the request's target (default: the request's host, as Vigil's
	// server.address identity; set it to return the service name you give as peer.service).
	Target func(*http.Request) string
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	target := req.URL.Hostname()
	if t.Target != nil {
		target = t.Target(req)
	}
	p, ok := t.Client.Allow(target)
	if !ok {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, &OpenError{Target: target}
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	switch {
	case err != nil && (errors.Is(err, context.Canceled) || errors.Is(req.Context().Err(), context.Canceled)):
		p.Done(Ignored)
	case err != nil || resp.StatusCode >= 500:
		p.Done(Failure)
	default:
		p.Done(Success)
	}
	return resp, err
}
