package action

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Webhook posts an Alertmanager webhook payload (version 4) to a URL fixed in config. With a
// secret, each request carries X-Vigil-Timestamp (Unix seconds) and
// X-Vigil-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>.
type Webhook struct {
	Name       string
	URL        string
	Secret     []byte
	Client     *http.Client
	MaxRetries int
	Now        func() time.Time
}

// Signature headers.
const (
	HeaderTimestamp = "X-Vigil-Timestamp"
	HeaderSignature = "X-Vigil-Signature"
)

// Sign returns the signature header value for a timestamp and body.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Resolvable implements Runner.
func (w *Webhook) Resolvable() bool { return true }

// AMAlert is one alert of an Alertmanager webhook payload.
type AMAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// AMPayload is the Alertmanager webhook payload, version 4.
type AMPayload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []AMAlert         `json:"alerts"`
}

func labels(r Request) map[string]string {
	return map[string]string{
		"alertname": r.Rule, "severity": r.Severity, "vigil_incident": r.Incident,
		"target": r.Target, "target_attribute": r.TargetAttr,
	}
}

func annotations(r Request) map[string]string {
	return map[string]string{
		"summary": r.Summary, "value": strconv.FormatFloat(r.Value, 'g', -1, 64),
	}
}

// alert renders the request as an Alertmanager alert.
func alert(r Request, now time.Time) AMAlert {
	a := AMAlert{Status: "firing", Labels: labels(r), Annotations: annotations(r), StartsAt: r.FiredAt.UTC(), Fingerprint: r.Incident}
	if r.Resolve {
		a.Status, a.EndsAt = "resolved", now.UTC()
	}
	return a
}

// Run implements Runner.
func (w *Webhook) Run(ctx context.Context, r Request) (string, error) {
	a := alert(r, w.Now())
	p := AMPayload{
		Version: "4", GroupKey: "{}:{alertname=" + strconv.Quote(r.Rule) + "}", Status: a.Status, Receiver: w.Name,
		GroupLabels: map[string]string{"alertname": r.Rule}, CommonLabels: a.Labels, CommonAnnotations: a.Annotations,
		Alerts: []AMAlert{a},
	}
	body, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	header := func() http.Header {
		h := http.Header{}
		if len(w.Secret) > 0 {
			ts := strconv.FormatInt(w.Now().Unix(), 10)
			h.Set(HeaderTimestamp, ts)
			h.Set(HeaderSignature, Sign(w.Secret, ts, body))
		}
		return h
	}
	return postWithRetry(ctx, w.Client, w.URL, body, header, w.MaxRetries, func(s int) bool { return s >= 200 && s < 300 })
}
