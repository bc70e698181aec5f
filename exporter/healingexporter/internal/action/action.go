// Package action runs the healing exporter's actions: webhooks (Alertmanager webhook payload v4,
// HMAC-signed), Alertmanager API v2, PagerDuty Events API v2, allow-listed commands and log
// records. Telemetry values reach an action only as JSON string values in a request body or, for
// commands, as the VIGIL_TARGET environment variable after a pattern check: never in a URL, a
// path or an argv.
package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Request is one action to run for an incident.
type Request struct {
	Incident   string
	Rule       string
	Target     string // the value of the rule's target attribute
	TargetAttr string // the attribute's name, e.g. service.name
	Severity   string
	Summary    string
	Value      float64
	FiredAt    time.Time
	Resolve    bool // send the incident's resolution instead
}

// Runner runs one configured action.
type Runner interface {
	// Run performs the action; detail is a short account for the audit record.
	Run(ctx context.Context, r Request) (detail string, err error)
	// Resolvable reports whether the action sends a resolve when the incident clears.
	Resolvable() bool
}

// ErrUnreachable marks failures to reach an action's endpoint (the exporter reports them as a
// recoverable component status).
var ErrUnreachable = errors.New("endpoint unreachable")

// maxResponseBytes bounds what is read of a response body: never decompressed, never more.
const maxResponseBytes = 64 << 10

// post sends body to url and returns the status and the start of the response body.
func post(ctx context.Context, client *http.Client, url string, body []byte, header http.Header) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vigil-healing/1")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	return resp.StatusCode, string(b), nil
}

// retryable reports whether a status is worth retrying.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// postWithRetry posts, retrying network errors, 429 and 5xx up to retries times with a doubling
// pause (from 250 ms), within ctx.
func postWithRetry(ctx context.Context, client *http.Client, url string, body []byte, header func() http.Header, retries int, ok func(int) bool) (string, error) {
	pause := 250 * time.Millisecond
	var lastErr error
	for attempt := 0; ; attempt++ {
		status, resp, err := post(ctx, client, url, body, header())
		switch {
		case err == nil && ok(status):
			return fmt.Sprintf("HTTP %d after %d attempt(s)", status, attempt+1), nil
		case err == nil && !retryable(status):
			return "", fmt.Errorf("HTTP %d: %.200s", status, resp)
		case err == nil:
			lastErr = fmt.Errorf("%w: HTTP %d: %.200s", ErrUnreachable, status, resp)
		default:
			lastErr = err
		}
		if attempt >= retries {
			return "", lastErr
		}
		select {
		case <-ctx.Done():
			return "", lastErr
		case <-time.After(pause):
		}
		pause *= 2
	}
}
