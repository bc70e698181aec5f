package action

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Alertmanager posts alerts to an Alertmanager's API v2 (POST <url>/api/v2/alerts), firing and
// resolved (a resolved alert is the same labels with endsAt set).
type Alertmanager struct {
	URL    string // base URL, e.g. http://localhost:9093
	Client *http.Client
	Now    func() time.Time
}

// Resolvable implements Runner.
func (a *Alertmanager) Resolvable() bool { return true }

type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitempty"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Run implements Runner.
func (a *Alertmanager) Run(ctx context.Context, r Request) (string, error) {
	pa := postableAlert{Labels: labels(r), Annotations: annotations(r), StartsAt: r.FiredAt.UTC()}
	if r.Resolve {
		pa.EndsAt = a.Now().UTC()
	}
	body, err := json.Marshal([]postableAlert{pa})
	if err != nil {
		return "", err
	}
	url := strings.TrimSuffix(a.URL, "/") + "/api/v2/alerts"
	return postWithRetry(ctx, a.Client, url, body, func() http.Header { return nil }, 2, func(s int) bool { return s == http.StatusOK })
}
