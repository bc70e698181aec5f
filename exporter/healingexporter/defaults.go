package healingexporter

import (
	"time"

	"go.opentelemetry.io/collector/confmap"
)

// Defaults of the exporter-wide settings.
const (
	defaultGlobalPerMinute     = 30
	defaultGlobalBurst         = 10
	defaultActionPerMinute     = 12
	defaultActionBurst         = 5
	defaultTargetPerMinute     = 2
	defaultTargetBurst         = 1
	defaultMaxPerTargetPerHour = 6
	defaultBackoffInitial      = 10 * time.Second
	defaultBackoffMax          = 300 * time.Second
	defaultBackoffMultiplier   = 2
	defaultBackoffResetAfter   = 10 * time.Minute
	defaultMaxIncidents        = 10_000
	defaultWorkers             = 4
	defaultQueueSize           = 100 // per action
	defaultResolveTimeout      = 5 * time.Minute
)

// Defaults of each rule and action.
const (
	defaultTarget         = "service.name"
	defaultEscalateAfter  = 1
	defaultCooldown       = 10 * time.Minute
	defaultSeverity       = "warning"
	defaultHTTPTimeout    = 5 * time.Second
	defaultMaxRetries     = 3
	defaultPagerDutyURL   = "https://events.pagerduty.com/v2/enqueue"
	defaultExecTimeout    = 30 * time.Second
	defaultMaxOutputBytes = 4096
	// defaultTargetPattern admits host, unit and service names, and nothing a shell or a flag
	// parser would read as syntax.
	defaultTargetPattern = `^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`
)

// Unmarshal fills a rule's defaults before reading it.
func (r *RuleConfig) Unmarshal(conf *confmap.Conf) error {
	type plain RuleConfig
	p := plain{Target: defaultTarget, EscalateAfter: defaultEscalateAfter, Cooldown: defaultCooldown, Severity: defaultSeverity}
	if err := conf.Unmarshal(&p); err != nil {
		return err
	}
	*r = RuleConfig(p)
	return nil
}

// Unmarshal fills an action's defaults before reading it.
func (a *ActionConfig) Unmarshal(conf *confmap.Conf) error {
	type plain ActionConfig
	p := plain{
		Webhook:      WebhookConfig{Timeout: defaultHTTPTimeout, MaxRetries: defaultMaxRetries},
		Alertmanager: AlertmanagerConfig{Timeout: defaultHTTPTimeout},
		PagerDuty:    PagerDutyConfig{URL: defaultPagerDutyURL, Timeout: defaultHTTPTimeout},
		Exec:         ExecConfig{Timeout: defaultExecTimeout, MaxOutputBytes: defaultMaxOutputBytes, TargetPattern: defaultTargetPattern},
	}
	if err := conf.Unmarshal(&p); err != nil {
		return err
	}
	*a = ActionConfig(p)
	return nil
}
