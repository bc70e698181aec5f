package action

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
)

// PagerDuty sends PagerDuty Events API v2 events: trigger when an incident fires, resolve when it
// clears, with the incident's ID as dedup_key.
type PagerDuty struct {
	URL        string
	RoutingKey string
	Client     *http.Client
}

// Resolvable implements Runner.
func (p *PagerDuty) Resolvable() bool { return true }

// PDEvent is an Events API v2 event.
type PDEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *PDPayload `json:"payload,omitempty"`
}

// PDPayload is the payload of a trigger event.
type PDPayload struct {
	Summary       string            `json:"summary"`
	Source        string            `json:"source"`
	Severity      string            `json:"severity"`
	Component     string            `json:"component,omitempty"`
	Group         string            `json:"group,omitempty"`
	CustomDetails map[string]string `json:"custom_details,omitempty"`
}

// Run implements Runner.
func (p *PagerDuty) Run(ctx context.Context, r Request) (string, error) {
	ev := PDEvent{RoutingKey: p.RoutingKey, EventAction: "trigger", DedupKey: r.Incident}
	if r.Resolve {
		ev.EventAction = "resolve"
	} else {
		summary := r.Summary
		if summary == "" {
			summary = r.Rule + " on " + r.Target
		}
		if len(summary) > 1024 {
			summary = summary[:1024]
		}
		ev.Payload = &PDPayload{
			Summary: summary, Source: r.Target, Severity: r.Severity, Component: r.Target, Group: r.Rule,
			CustomDetails: map[string]string{"rule": r.Rule, "value": strconv.FormatFloat(r.Value, 'g', -1, 64), r.TargetAttr: r.Target},
		}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return "", err
	}
	return postWithRetry(ctx, p.Client, p.URL, body, func() http.Header { return nil }, 2, func(s int) bool { return s == http.StatusAccepted || s == http.StatusOK })
}
