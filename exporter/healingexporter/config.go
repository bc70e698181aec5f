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

	"github.com/vigil-collector/vigil/internal/validation"
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
	// MaxIncidents bounds the (rule, target) states held; the least recently seen pending ones are
	// evicted first (see internal/registry), a firing one never.
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
	// KeyFile holds a secret (at least 32 bytes; a trailing newline is ignored): every record's
	// hash becomes an HMAC-SHA256 under it, so that a writer without the key cannot forge the
	// chain. Keep it readable by the collector only, and apart from the audit file.
	KeyFile string `mapstructure:"key_file"`
	// CheckpointPath is where the last durable seq and hash are kept (keyed too), so that a file
	// cut short is detected; default: the audit path + ".checkpoint". Put it on another volume
	// for more safety.
	CheckpointPath string `mapstructure:"checkpoint_path"`
	_              struct{}
}

// checkpointPath is the configured checkpoint path or its default.
func (a AuditConfig) checkpointPath() string {
	if a.CheckpointPath != "" {
		return a.CheckpointPath
	}
	return a.Path + ".checkpoint"
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
	Type   string `mapstructure:"type"`
	DryRun bool   `mapstructure:"dry_run"`
	// RenotifyAfterRestart runs an intent again that the collector's stop interrupted (written,
	// outcome unknown) when its incident still fires after the restart: at least once, for
	// paging actions. Refused for exec and log, which stay at most once.
	RenotifyAfterRestart bool               `mapstructure:"renotify_after_restart"`
	Webhook              WebhookConfig      `mapstructure:"webhook"`
	Alertmanager         AlertmanagerConfig `mapstructure:"alertmanager"`
	PagerDuty            PagerDutyConfig    `mapstructure:"pagerduty"`
	Exec                 ExecConfig         `mapstructure:"exec"`
	_                    struct{}
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

// Validate checks the top-level fields and what crosses fields: rule names are unique, rules
// name existing actions, exec commands are allow-listed, maintenance windows name existing rules.
// confmap's validation calls the Validate of every nested type and prefixes the field path.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
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
			add("allowed_commands::%d: must be a clean absolute path, got %q", i, c)
		}
	}
	for i, w := range cfg.Maintenance {
		for j, name := range w.Rules {
			if !slices.ContainsFunc(cfg.Rules, func(r RuleConfig) bool { return r.Name == name }) {
				add("maintenance::%d::rules::%d: no rule named %q", i, j, name)
			}
		}
	}
	for name, a := range cfg.Actions {
		if !nameRE.MatchString(name) {
			add("actions::%s: action names must match %s", name, nameRE)
			continue
		}
		if a.Type == ActionExec && a.Exec.Command != "" && !slices.Contains(cfg.AllowedCommands, a.Exec.Command) {
			add("actions::%s::exec::command: %q is not in allowed_commands", name, a.Exec.Command)
		}
	}
	seen := map[string]int{}
	for i, r := range cfg.Rules {
		if j, dup := seen[r.Name]; dup && r.Name != "" {
			add("rules::%d::name: %q already names rules::%d", i, r.Name, j)
		}
		seen[r.Name] = i
		for j, name := range r.Actions {
			if _, ok := cfg.Actions[name]; !ok {
				add("rules::%d::actions::%d: no action named %q", i, j, name)
			}
		}
	}
	return errors.Join(errs...)
}

// Validate checks the audit file's path.
func (a *AuditConfig) Validate() error {
	var errs []error
	if a.Path == "" {
		errs = append(errs, errors.New("path: required (the append-only audit file)"))
	} else if strings.ContainsRune(a.Path, 0) {
		errs = append(errs, errors.New("path: must not contain NUL"))
	}
	if strings.ContainsRune(a.KeyFile, 0) {
		errs = append(errs, errors.New("key_file: must not contain NUL"))
	}
	if strings.ContainsRune(a.CheckpointPath, 0) {
		errs = append(errs, errors.New("checkpoint_path: must not contain NUL"))
	} else if a.CheckpointPath != "" && filepath.Clean(a.CheckpointPath) == filepath.Clean(a.Path) {
		errs = append(errs, errors.New("checkpoint_path: must not be the audit file itself"))
	}
	return validation.Join(errs...)
}

// Validate checks one token bucket.
func (r *RateConfig) Validate() error {
	var errs []error
	if r.PerMinute <= 0 || r.PerMinute > 60000 {
		errs = append(errs, fmt.Errorf("per_minute: must be above 0 and at most 60000, got %v", r.PerMinute))
	}
	if r.Burst < 1 || r.Burst > 10000 {
		errs = append(errs, fmt.Errorf("burst: must be between 1 and 10000, got %d", r.Burst))
	}
	return validation.Join(errs...)
}

// Validate checks the hourly cap; each rate checks itself.
func (l *LimitsConfig) Validate() error {
	if l.MaxPerTargetPerHour < 1 || l.MaxPerTargetPerHour > 3600 {
		return fmt.Errorf("max_per_target_per_hour: must be between 1 and 3600, got %d", l.MaxPerTargetPerHour)
	}
	return nil
}

// Validate checks the backoff's durations and multiplier.
func (b *BackoffConfig) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if b.Initial <= 0 {
		add("initial: must be positive, got %s", b.Initial)
	}
	if b.Max < b.Initial {
		add("max: must be at least backoff.initial (%s), got %s", b.Initial, b.Max)
	}
	if b.Multiplier < 1 || b.Multiplier > 10 {
		add("multiplier: must be between 1 and 10, got %v", b.Multiplier)
	}
	if b.ResetAfter <= 0 {
		add("reset_after: must be positive, got %s", b.ResetAfter)
	}
	return validation.Join(errs...)
}

// Validate checks one maintenance window; the rules it names are checked by Config.Validate.
func (w *MaintenanceConfig) Validate() error {
	var errs []error
	if w.Name == "" {
		errs = append(errs, errors.New("name: required"))
	}
	if w.Timezone != "" {
		if _, err := time.LoadLocation(w.Timezone); err != nil {
			errs = append(errs, fmt.Errorf("timezone: unknown time zone %q", w.Timezone))
		}
	}
	for j, d := range w.Days {
		if !slices.Contains(validDays, strings.ToLower(d)) {
			errs = append(errs, fmt.Errorf("days::%d: must be one of %v, got %q", j, validDays, d))
		}
	}
	if _, err := parseClock(w.Start); err != nil {
		errs = append(errs, fmt.Errorf("start: %w", err))
	}
	if w.Duration <= 0 || w.Duration > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("duration: must be above 0 and at most 168h, got %s", w.Duration))
	}
	return validation.Join(errs...)
}

// parseClock parses "HH:MM" into the offset from midnight.
func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("want HH:MM (24 h), got %q", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// checkURL checks an action's endpoint URL.
func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return fmt.Errorf("%s: required", field)
	case err != nil:
		return fmt.Errorf("%s: not a URL: %v", field, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%s: scheme must be http or https, got %q", field, u.Scheme)
	case u.Host == "":
		return fmt.Errorf("%s: has no host", field)
	}
	return nil
}

// checkTimeout checks an action's timeout.
func checkTimeout(field string, d time.Duration) error {
	if d <= 0 || d > 10*time.Minute {
		return fmt.Errorf("%s: must be above 0 and at most 10m, got %s", field, d)
	}
	return nil
}

// Validate checks the type and the settings block that the type selects (the others are
// ignored); TLS settings are checked by their own Validate, and whether an exec command is
// allow-listed by Config.Validate.
func (a *ActionConfig) Validate() error {
	if a.RenotifyAfterRestart && (a.Type == ActionExec || a.Type == ActionLog) {
		return fmt.Errorf("renotify_after_restart: only for notifications (webhook, alertmanager, pagerduty); %s stays at most once", a.Type)
	}
	switch a.Type {
	case ActionWebhook:
		w := a.Webhook
		var errRetries error
		if w.MaxRetries < 0 || w.MaxRetries > 10 {
			errRetries = fmt.Errorf("webhook::max_retries: must be between 0 and 10, got %d", w.MaxRetries)
		}
		return validation.Join(checkURL("webhook::url", w.URL), checkTimeout("webhook::timeout", w.Timeout), errRetries)
	case ActionAlertmanager:
		return validation.Join(checkURL("alertmanager::url", a.Alertmanager.URL), checkTimeout("alertmanager::timeout", a.Alertmanager.Timeout))
	case ActionPagerDuty:
		var errKey error
		if a.PagerDuty.RoutingKey == "" {
			errKey = errors.New("pagerduty::routing_key: required")
		}
		return validation.Join(checkURL("pagerduty::url", a.PagerDuty.URL), checkTimeout("pagerduty::timeout", a.PagerDuty.Timeout), errKey)
	case ActionExec:
		return a.Exec.validate()
	case ActionLog:
		return nil
	case "":
		return fmt.Errorf("type: required (one of %v)", actionTypes)
	}
	return fmt.Errorf("type: must be one of %v, got %q", actionTypes, a.Type)
}

// validate checks an exec action's block; it is not a Validate, so that the block of an action of
// another type is not checked.
func (e *ExecConfig) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if e.Command == "" {
		add("exec::command: required")
	}
	for k, v := range e.Env {
		if !envNameRE.MatchString(k) || strings.HasPrefix(k, "VIGIL_") {
			add("exec::env: %q must match %s and not start with VIGIL_", k, envNameRE)
		}
		if strings.ContainsRune(v, 0) {
			add("exec::env::%s: must not contain NUL", k)
		}
	}
	for i, arg := range e.Args {
		if strings.ContainsRune(arg, 0) {
			add("exec::args::%d: must not contain NUL", i)
		}
	}
	if re, err := regexp.Compile(e.TargetPattern); err != nil {
		add("exec::target_pattern: %v", err)
	} else if !strings.HasPrefix(e.TargetPattern, "^") || !strings.HasSuffix(e.TargetPattern, "$") {
		add("exec::target_pattern: must be anchored with ^ and $, got %q", re)
	}
	if err := checkTimeout("exec::timeout", e.Timeout); err != nil {
		errs = append(errs, err)
	}
	if e.MaxOutputBytes < 0 || e.MaxOutputBytes > 1<<20 {
		add("exec::max_output_bytes: must be between 0 and 1048576, got %d", e.MaxOutputBytes)
	}
	return validation.Join(errs...)
}

// Validate checks the rule's own fields; the actions it names are checked by Config.Validate.
func (r *RuleConfig) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !nameRE.MatchString(r.Name) {
		add("name: must match %s, got %q", nameRE, r.Name)
	}
	if r.For < 0 {
		add("for: must not be negative, got %s", r.For)
	}
	if r.Target == "" {
		add("target: required (the attribute naming what to heal, e.g. service.name)")
	}
	if len(r.Actions) == 0 {
		add("actions: at least one action")
	}
	if r.EscalateAfter < 1 || r.EscalateAfter > 100 {
		add("escalate_after: must be between 1 and 100, got %d", r.EscalateAfter)
	}
	if r.Cooldown < 0 {
		add("cooldown: must not be negative, got %s", r.Cooldown)
	}
	if !slices.Contains(severities, r.Severity) {
		add("severity: must be one of %v, got %q", severities, r.Severity)
	}
	return validation.Join(errs...)
}

// Validate checks a rule's condition.
func (w *WhenConfig) Validate() error {
	var errs []error
	if w.Metric == "" || len(w.Metric) > 255 || !utf8.ValidString(w.Metric) {
		errs = append(errs, errors.New("metric: required, at most 255 bytes of UTF-8"))
	}
	if !slices.Contains(validOps, w.Op) {
		errs = append(errs, fmt.Errorf("op: must be one of %v, got %q", validOps, w.Op))
	}
	for k := range w.Match {
		if k == "" {
			errs = append(errs, errors.New("match: attribute names must not be empty"))
		}
	}
	return validation.Join(errs...)
}
