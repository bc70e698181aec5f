package healingexporter

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/config/configtls"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/action"
)

// newRunners builds the runner of every configured action and the time its run may take.
func (e *healingExporter) newRunners() error {
	e.runners, e.timeout = map[string]action.Runner{}, map[string]time.Duration{}
	for name, a := range e.cfg.Actions {
		r, timeout, err := e.newRunner(name, a)
		if err != nil {
			return fmt.Errorf("actions::%s: %w", name, err)
		}
		e.runners[name], e.timeout[name] = r, timeout
	}
	return nil
}

// newHTTPClient builds an HTTP client with an action's TLS settings. Redirects are not followed:
// the URL fixed in config is the only destination.
func newHTTPClient(t time.Duration, tlsCfg configtls.ClientConfig) (*http.Client, error) {
	conf, err := tlsCfg.LoadTLSConfig(context.Background())
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = conf
	return &http.Client{Timeout: t, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// newRunner builds the runner of one action and the time its run may take.
func (e *healingExporter) newRunner(name string, a ActionConfig) (action.Runner, time.Duration, error) {
	client := newHTTPClient
	switch a.Type {
	case ActionWebhook:
		w := a.Webhook
		c, err := client(w.Timeout, w.TLS)
		if err != nil {
			return nil, 0, err
		}
		// The whole run, retries included, is bounded by (1 + retries) timeouts and their pauses.
		total := time.Duration(w.MaxRetries+1)*w.Timeout + 10*time.Second
		return &action.Webhook{Name: name, URL: w.URL, Secret: []byte(w.Secret), Client: c, MaxRetries: w.MaxRetries, Now: e.now}, total, nil
	case ActionAlertmanager:
		c, err := client(a.Alertmanager.Timeout, a.Alertmanager.TLS)
		if err != nil {
			return nil, 0, err
		}
		return &action.Alertmanager{URL: a.Alertmanager.URL, Client: c, Now: e.now}, 3*a.Alertmanager.Timeout + 5*time.Second, nil
	case ActionPagerDuty:
		c, err := client(a.PagerDuty.Timeout, a.PagerDuty.TLS)
		if err != nil {
			return nil, 0, err
		}
		return &action.PagerDuty{URL: a.PagerDuty.URL, RoutingKey: string(a.PagerDuty.RoutingKey), Client: c}, 3*a.PagerDuty.Timeout + 5*time.Second, nil
	case ActionExec:
		re, err := regexp.Compile(a.Exec.TargetPattern)
		if err != nil {
			return nil, 0, err
		}
		return &action.Exec{Command: a.Exec.Command, Args: a.Exec.Args, Env: a.Exec.Env, TargetPattern: re, MaxOutputBytes: a.Exec.MaxOutputBytes}, a.Exec.Timeout, nil
	case ActionLog:
		return &action.Log{Name: name, Logger: e.set.Logger}, time.Second, nil
	}
	return nil, 0, fmt.Errorf("unknown type %q", a.Type)
}
