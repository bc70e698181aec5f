package healingexporter

import (
	"errors"
	"fmt"
	"go.opentelemetry.io/collector/component"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"
)

// Action types.
const (
	ActionWebhook      = "webhook"
	ActionAlertmanager = "alertmanager"
	ActionPagerDuty    = "pagerduty"
	ActionExec         = "exec"
	ActionLog          = "log"
)

var (
	nameRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	envNameRE   = regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,63}$`)
	validOps    = []string{">", ">=", "<", "<=", "==", "!="}
	validDays   = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	severities  = []string{"critical", "error", "warning", "info"}
	actionTypes = []string{ActionWebhook, ActionAlertmanager, ActionPagerDuty, ActionExec, ActionLog}
)

// Config is the healing exporter's configuration.
type Config struct {
	// DryRun records what every action would do and runs none.
	DryRun bool `mapstructure:"dry_run"`
	// Audit is where decisions are recorded.
	Audit AuditConfig `mapstructure:"audit"`
	// Limits bound how often actions run.
	Limits LimitsConfig `mapstructure:"limits"`
	// Backoff spaces the actions on one target.
	Backoff BackoffConfig `mapstructure:"backoff"`
	// MaxIncidents bounds the (rule, target) states held; the least recently seen pending one is
	// evicted first, a firing one never.
	MaxIncidents int `mapstructure:"max_incidents"`
	// Workers run actions concurrently; QueueSize bounds the actions waiting for one.
	Workers   int `mapstructure:"workers"`
	QueueSize int `mapstructure:"queue_size"`
	// ResolveTimeout resolves a firing incident whose metric has not been seen for this long.
	ResolveTimeout time.Duration `mapstructure:"resolve_timeout"`
	// AllowedCommands lists the absolute paths exec actions may run.
	AllowedCommands []string `mapstructure:"allowed_commands"`
	// Maintenance windows suppress actions.
	Maintenance []MaintenanceConfig `mapstructure:"maintenance"`
	// Actions by name.
	Actions map[string]ActionConfig `mapstructure:"actions"`
	// StatusExtension names the status extension every decision is published to (for example
	// "status"), where it joins the target's incident timeline; empty: none.
	StatusExtension component.ID `mapstructure:"status_extension"`
	// Rules, evaluated on every data point of their metric.
	Rules []RuleConfig `mapstructure:"rules"`

	_ struct{}
}

// AuditConfig locates the audit file.
type AuditConfig struct {
	// Path of the JSON-lines audit file (its folder is created when missing).
	Path string `mapstructure:"path"`
	_    struct{}
}

// RateConfig is a token bucket: PerMinute tokens a minute, at most Burst at once.
type RateConfig struct {
	PerMinute float64 `mapstructure:"per_minute"`
	Burst     int     `mapstructure:"burst"`
	_         struct{}
}

// LimitsConfig holds the rate limits.
type LimitsConfig struct {
	Global    RateConfig `mapstructure:"global"`
	PerAction RateConfig `mapstructure:"per_action"`
	PerTarget RateConfig `mapstructure:"per_target"`
	// MaxPerTargetPerHour caps executions on one target in any hour; past it a rule escalates to
	// its last action instead of repeating a remediation.
	MaxPerTargetPerHour int `mapstructure:"max_per_target_per_hour"`
	_                   struct{}
}

// BackoffConfig is the per-target exponential backoff between actions.
type BackoffConfig struct {
	Initial    time.Duration `mapstructure:"initial"`
	Max        time.Duration `mapstructure:"max"`
	Multiplier float64       `mapstructure:"multiplier"`
	// ResetAfter: a target healthy this long starts again from Initial.
	ResetAfter time.Duration `mapstructure:"reset_after"`
	_          struct{}
}

// MaintenanceConfig is a weekly window in a time zone during which actions are suppressed.
type MaintenanceConfig struct {
	Name     string        `mapstructure:"name"`
	Timezone string        `mapstructure:"timezone"`
	Days     []string      `mapstructure:"days"`
	Start    string        `mapstructure:"start"`
	Duration time.Duration `mapstructure:"duration"`
	// Rules the window applies to (empty: all).
	Rules []string `mapstructure:"rules"`
	_     struct{}
}

// RuleConfig is one healing rule.
type RuleConfig struct {
	Name string     `mapstructure:"name"`
	When WhenConfig `mapstructure:"when"`
	// For is how long the condition must hold before the incident fires.
	For time.Duration `mapstructure:"for"`
	// Target is the attribute (data point, else resource) naming what to heal.
	Target string `mapstructure:"target"`
	// Actions run in order: the first is the remediation; each next one is the escalation after
	// EscalateAfter failed attempts of the one before.
	Actions       []string `mapstructure:"actions"`
	EscalateAfter int      `mapstructure:"escalate_after"`
	// Cooldown is the least time between two executions for the same (rule, target).
	Cooldown time.Duration `mapstructure:"cooldown"`
	Severity string        `mapstructure:"severity"`
	Summary  string        `mapstructure:"summary"`
	_        struct{}
}

// WhenConfig is a rule's condition on one metric.
type WhenConfig struct {
	Metric    string            `mapstructure:"metric"`
	Match     map[string]string `mapstructure:"match"`
	Op        string            `mapstructure:"op"`
	Threshold float64           `mapstructure:"threshold"`
	_         struct{}
}

// ActionConfig is one action; the block matching Type holds its settings.
type ActionConfig struct {
	Type         string             `mapstructure:"type"`
	DryRun       bool               `mapstructure:"dry_run"`
	Webhook      WebhookConfig      `mapstructure:"webhook"`
	Alertmanager AlertmanagerConfig `mapstructure:"alertmanager"`
	PagerDuty    PagerDutyConfig    `mapstructure:"pagerduty"`
	Exec         ExecConfig         `mapstructure:"exec"`
	_            struct{}
}

// WebhookConfig posts an Alertmanager-compatible (version 4) JSON payload.
type WebhookConfig struct {
	URL string `mapstructure:"url"`
	// Secret signs each request: X-Vigil-Signature = hex HMAC-SHA256(secret, timestamp + "." + body).
	Secret     configopaque.String `mapstructure:"secret"`
	Timeout    time.Duration       `mapstructure:"timeout"`
	MaxRetries int                 `mapstructure:"max_retries"`
	// TLS holds the client TLS settings of https URLs (CA, client certificate).
	TLS configtls.ClientConfig `mapstructure:"tls"`
	_   struct{}
}

// AlertmanagerConfig posts alerts to an Alertmanager's API v2.
type AlertmanagerConfig struct {
	URL     string                 `mapstructure:"url"`
	Timeout time.Duration          `mapstructure:"timeout"`
	TLS     configtls.ClientConfig `mapstructure:"tls"`
	_       struct{}
}

// PagerDutyConfig sends PagerDuty Events API v2 events.
type PagerDutyConfig struct {
	URL        string                 `mapstructure:"url"`
	RoutingKey configopaque.String    `mapstructure:"routing_key"`
	Timeout    time.Duration          `mapstructure:"timeout"`
	TLS        configtls.ClientConfig `mapstructure:"tls"`
	_          struct{}
}

// ExecConfig runs an allow-listed command as argv, never through a shell.
type ExecConfig struct {
	Command string   `mapstructure:"command"`
	Args    []string `mapstructure:"args"`
	// Env holds fixed environment values; telemetry reaches the command only as VIGIL_TARGET,
	// and only when it matches TargetPattern.
	Env            map[string]string `mapstructure:"env"`
	TargetPattern  string            `mapstructure:"target_pattern"`
	Timeout        time.Duration     `mapstructure:"timeout"`
	MaxOutputBytes int               `mapstructure:"max_output_bytes"`
	_              struct{}
}

// Validate checks the configuration; every error names its field.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if cfg.Audit.Path == "" {
		add("audit.path: required (the append-only audit file)")
	} else if strings.ContainsRune(cfg.Audit.Path, 0) {
		add("audit.path: must not contain NUL")
	}
	for name, r := range map[string]RateConfig{"limits.global": cfg.Limits.Global, "limits.per_action": cfg.Limits.PerAction, "limits.per_target": cfg.Limits.PerTarget} {
		if r.PerMinute <= 0 || r.PerMinute > 60000 {
			add("%s.per_minute: must be above 0 and at most 60000, got %v", name, r.PerMinute)
		}
		if r.Burst < 1 || r.Burst > 10000 {
			add("%s.burst: must be between 1 and 10000, got %d", name, r.Burst)
		}
	}
	if cfg.Limits.MaxPerTargetPerHour < 1 || cfg.Limits.MaxPerTargetPerHour > 3600 {
		add("limits.max_per_target_per_hour: must be between 1 and 3600, got %d", cfg.Limits.MaxPerTargetPerHour)
	}
	b := cfg.Backoff
	if b.Initial <= 0 {
		add("backoff.initial: must be positive, got %s", b.Initial)
	}
	if b.Max < b.Initial {
		add("backoff.max: must be at least backoff.initial (%s), got %s", b.Initial, b.Max)
	}
	if b.Multiplier < 1 || b.Multiplier > 10 {
		add("backoff.multiplier: must be between 1 and 10, got %v", b.Multiplier)
	}
	if b.ResetAfter <= 0 {
		add("backoff.reset_after: must be positive, got %s", b.ResetAfter)
	}
	if cfg.MaxIncidents < 1 || cfg.MaxIncidents > 10_000_000 {
		add("max_incidents: must be between 1 and 10000000, got %d", cfg.MaxIncidents)
	}
	if cfg.Workers < 1 || cfg.Workers > 256 {
		add("workers: must be between 1 and 256, got %d", cfg.Workers)
	}
	if cfg.QueueSize < 1 || cfg.QueueSize > 1_000_000 {
		add("queue_size: must be between 1 and 1000000, got %d", cfg.QueueSize)
	}
	if cfg.ResolveTimeout < time.Second {
		add("resolve_timeout: must be at least 1s, got %s", cfg.ResolveTimeout)
	}
	for i, c := range cfg.AllowedCommands {
		if !filepath.IsAbs(c) || filepath.Clean(c) != c {
			add("allowed_commands[%d]: must be a clean absolute path, got %q", i, c)
		}
	}
	for i, w := range cfg.Maintenance {
		errs = append(errs, w.validate(fmt.Sprintf("maintenance[%d]", i), cfg.Rules)...)
	}
	for name, a := range cfg.Actions {
		field := fmt.Sprintf("actions.%s", name)
		if !nameRE.MatchString(name) {
			add("%s: action names must match %s", field, nameRE)
			continue
		}
		errs = append(errs, a.validate(field, cfg.AllowedCommands)...)
	}
	seen := map[string]int{}
	for i, r := range cfg.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		if j, dup := seen[r.Name]; dup && r.Name != "" {
			add("%s.name: %q already names rules[%d]", field, r.Name, j)
		}
		seen[r.Name] = i
		errs = append(errs, r.validate(field, cfg.Actions)...)
	}
	return errors.Join(errs...)
}

func (w MaintenanceConfig) validate(field string, rules []RuleConfig) []error {
	var errs []error
	if w.Name == "" {
		errs = append(errs, fmt.Errorf("%s.name: required", field))
	}
	if w.Timezone != "" {
		if _, err := time.LoadLocation(w.Timezone); err != nil {
			errs = append(errs, fmt.Errorf("%s.timezone: unknown time zone %q", field, w.Timezone))
		}
	}
	for j, d := range w.Days {
		if !slices.Contains(validDays, strings.ToLower(d)) {
			errs = append(errs, fmt.Errorf("%s.days[%d]: must be one of %v, got %q", field, j, validDays, d))
		}
	}
	if _, err := parseClock(w.Start); err != nil {
		errs = append(errs, fmt.Errorf("%s.start: %w", field, err))
	}
	if w.Duration <= 0 || w.Duration > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("%s.duration: must be above 0 and at most 168h, got %s", field, w.Duration))
	}
	for j, name := range w.Rules {
		if !slices.ContainsFunc(rules, func(r RuleConfig) bool { return r.Name == name }) {
			errs = append(errs, fmt.Errorf("%s.rules[%d]: no rule named %q", field, j, name))
		}
	}
	return errs
}

// parseClock parses "HH:MM" into the offset from midnight.
func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("want HH:MM (24 h), got %q", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func (a ActionConfig) validate(field string, allowed []string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	checkURL := func(f, raw string) {
		u, err := url.Parse(raw)
		switch {
		case raw == "":
			add("%s: required", f)
		case err != nil:
			add("%s: not a URL: %v", f, err)
		case u.Scheme != "http" && u.Scheme != "https":
			add("%s: scheme must be http or https, got %q", f, u.Scheme)
		case u.Host == "":
			add("%s: has no host", f)
		}
	}
	checkTLS := func(f string, c configtls.ClientConfig) {
		if err := c.Validate(); err != nil {
			add("%s: %v", f, err)
		}
	}
	checkTimeout := func(f string, d time.Duration) {
		if d <= 0 || d > 10*time.Minute {
			add("%s: must be above 0 and at most 10m, got %s", f, d)
		}
	}
	switch a.Type {
	case ActionWebhook:
		checkURL(field+".webhook.url", a.Webhook.URL)
		checkTLS(field+".webhook.tls", a.Webhook.TLS)
		checkTimeout(field+".webhook.timeout", a.Webhook.Timeout)
		if a.Webhook.MaxRetries < 0 || a.Webhook.MaxRetries > 10 {
			add("%s.webhook.max_retries: must be between 0 and 10, got %d", field, a.Webhook.MaxRetries)
		}
	case ActionAlertmanager:
		checkURL(field+".alertmanager.url", a.Alertmanager.URL)
		checkTLS(field+".alertmanager.tls", a.Alertmanager.TLS)
		checkTimeout(field+".alertmanager.timeout", a.Alertmanager.Timeout)
	case ActionPagerDuty:
		checkURL(field+".pagerduty.url", a.PagerDuty.URL)
		checkTLS(field+".pagerduty.tls", a.PagerDuty.TLS)
		checkTimeout(field+".pagerduty.timeout", a.PagerDuty.Timeout)
		if a.PagerDuty.RoutingKey == "" {
			add("%s.pagerduty.routing_key: required", field)
		}
	case ActionExec:
		e := a.Exec
		if e.Command == "" {
			add("%s.exec.command: required", field)
		} else if !slices.Contains(allowed, e.Command) {
			add("%s.exec.command: %q is not in allowed_commands", field, e.Command)
		}
		for k, v := range e.Env {
			if !envNameRE.MatchString(k) || strings.HasPrefix(k, "VIGIL_") {
				add("%s.exec.env: %q must match %s and not start with VIGIL_", field, k, envNameRE)
			}
			if strings.ContainsRune(v, 0) {
				add("%s.exec.env.%s: must not contain NUL", field, k)
			}
		}
		for i, arg := range e.Args {
			if strings.ContainsRune(arg, 0) {
				add("%s.exec.args[%d]: must not contain NUL", field, i)
			}
		}
		if re, err := regexp.Compile(e.TargetPattern); err != nil {
			add("%s.exec.target_pattern: %v", field, err)
		} else if !strings.HasPrefix(e.TargetPattern, "^") || !strings.HasSuffix(e.TargetPattern, "$") {
			add("%s.exec.target_pattern: must be anchored with ^ and $, got %q", field, re)
		}
		checkTimeout(field+".exec.timeout", e.Timeout)
		if e.MaxOutputBytes < 0 || e.MaxOutputBytes > 1<<20 {
			add("%s.exec.max_output_bytes: must be between 0 and 1048576, got %d", field, e.MaxOutputBytes)
		}
	case ActionLog:
	case "":
		add("%s.type: required (one of %v)", field, actionTypes)
	default:
		add("%s.type: must be one of %v, got %q", field, actionTypes, a.Type)
	}
	return errs
}

func (r RuleConfig) validate(field string, actions map[string]ActionConfig) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !nameRE.MatchString(r.Name) {
		add("%s.name: must match %s, got %q", field, nameRE, r.Name)
	}
	if r.When.Metric == "" || len(r.When.Metric) > 255 || !utf8.ValidString(r.When.Metric) {
		add("%s.when.metric: required, at most 255 bytes of UTF-8", field)
	}
	if !slices.Contains(validOps, r.When.Op) {
		add("%s.when.op: must be one of %v, got %q", field, validOps, r.When.Op)
	}
	for k := range r.When.Match {
		if k == "" {
			add("%s.when.match: attribute names must not be empty", field)
		}
	}
	if r.For < 0 {
		add("%s.for: must not be negative, got %s", field, r.For)
	}
	if r.Target == "" {
		add("%s.target: required (the attribute naming what to heal, e.g. service.name)", field)
	}
	if len(r.Actions) == 0 {
		add("%s.actions: at least one action", field)
	}
	for i, name := range r.Actions {
		if _, ok := actions[name]; !ok {
			add("%s.actions[%d]: no action named %q", field, i, name)
		}
	}
	if r.EscalateAfter < 1 || r.EscalateAfter > 100 {
		add("%s.escalate_after: must be between 1 and 100, got %d", field, r.EscalateAfter)
	}
	if r.Cooldown < 0 {
		add("%s.cooldown: must not be negative, got %s", field, r.Cooldown)
	}
	if !slices.Contains(severities, r.Severity) {
		add("%s.severity: must be one of %v, got %q", field, severities, r.Severity)
	}
	return errs
}
