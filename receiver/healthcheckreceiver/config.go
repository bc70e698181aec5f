package healthcheckreceiver

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/vigil-collector/vigil/internal/registry"
	"github.com/vigil-collector/vigil/internal/validation"
	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/probe"
)

// Target types.
const (
	TypeHTTP = "http"
	TypeTCP  = "tcp"
	TypeGRPC = "grpc"
)

// Limits on config values.
const (
	maxNameLength    = 128
	maxTargets       = 10000
	minInterval      = 100 * time.Millisecond
	maxThreshold     = 100
	maxMaxBodyBytes  = 16 << 20
	maxRequestBody   = 1 << 20
	maxEndpointBytes = 2048
)

// Config is the healthcheck receiver's configuration.
type Config struct {
	// collection_interval (how often metrics are emitted and the default probe interval),
	// initial_delay and timeout (the default probe timeout).
	scraperhelper.ControllerConfig `mapstructure:",squash"`

	// Targets to probe.
	Targets []TargetConfig `mapstructure:"targets"`

	_ struct{}
}

// TargetConfig is one probed target.
type TargetConfig struct {
	// Name identifies the target; it becomes the healthcheck.target attribute. Required, unique.
	Name string `mapstructure:"name"`
	// Service is the resource service.name of the target's metrics (default: Name).
	Service string `mapstructure:"service"`
	// Type is http, tcp or grpc.
	Type string `mapstructure:"type"`
	// Endpoint is a URL for http, host:port for tcp and grpc.
	Endpoint string `mapstructure:"endpoint"`
	// Interval between probes of this target (default: collection_interval).
	Interval time.Duration `mapstructure:"interval"`
	// Timeout of one probe (default: the receiver's timeout); must be below the interval.
	Timeout time.Duration `mapstructure:"timeout"`
	// FailureThreshold is the number of consecutive failures before an up target reports down.
	FailureThreshold int `mapstructure:"failure_threshold"`
	// SuccessThreshold is the number of consecutive successes before a down target reports up.
	SuccessThreshold int `mapstructure:"success_threshold"`
	// TLS: for tcp, a TLS handshake after connecting; for grpc, a TLS channel; for http, the
	// client TLS settings of https endpoints. Absent: plaintext tcp and grpc.
	TLS configoptional.Optional[configtls.ClientConfig] `mapstructure:"tls"`
	// HTTP holds the settings of http targets.
	HTTP HTTPConfig `mapstructure:"http"`
	// GRPC holds the settings of grpc targets.
	GRPC GRPCConfig `mapstructure:"grpc"`

	_ struct{}
}

// HTTPConfig holds what an http target sends and expects.
type HTTPConfig struct {
	Method         string               `mapstructure:"method"`
	Headers        configopaque.MapList `mapstructure:"headers"`
	Body           string               `mapstructure:"body"`
	ExpectedStatus []string             `mapstructure:"expected_status"`
	BodyContains   string               `mapstructure:"body_contains"`
	BodyRegex      string               `mapstructure:"body_regex"`
	MaxBodyBytes   int64                `mapstructure:"max_body_bytes"`
	// FollowRedirects: follow up to 10 redirects within the endpoint's origin (scheme, host and
	// port), refusing any other; false (the default) checks the redirect's own status.
	FollowRedirects *bool  `mapstructure:"follow_redirects"`
	ProxyURL        string `mapstructure:"proxy_url"`
	// PhaseTimings emits healthcheck.http.phase.duration (dns, connect, tls, first_byte).
	PhaseTimings bool `mapstructure:"phase_timings"`

	_ struct{}
}

// GRPCConfig holds the settings of grpc targets.
type GRPCConfig struct {
	// Service is the service name sent in the grpc.health.v1 Check ("" asks about the server).
	Service string `mapstructure:"service"`

	_ struct{}
}

// Validate checks the configuration; every error names the field it is about.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.CollectionInterval < minInterval {
		errs = append(errs, fmt.Errorf("collection_interval: must be at least %s, got %s", minInterval, cfg.CollectionInterval))
	}
	if cfg.InitialDelay < 0 {
		errs = append(errs, fmt.Errorf("initial_delay: must not be negative, got %s", cfg.InitialDelay))
	}
	if cfg.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: must be positive, got %s", cfg.Timeout))
	} else if cfg.Timeout >= cfg.CollectionInterval {
		errs = append(errs, fmt.Errorf("timeout: must be below collection_interval (%s), got %s", cfg.CollectionInterval, cfg.Timeout))
	}
	if len(cfg.Targets) > maxTargets {
		errs = append(errs, fmt.Errorf("targets: at most %d targets, got %d", maxTargets, len(cfg.Targets)))
	}
	seen := make(map[string]int, len(cfg.Targets))
	for i := range cfg.Targets {
		t := &cfg.Targets[i]
		if t.Name != "" {
			if j, dup := seen[t.Name]; dup {
				errs = append(errs, fmt.Errorf("targets::%d: target %q: name: duplicate of targets::%d; names must be unique", i, t.Name, j))
			}
			seen[t.Name] = i
		}
		if err := t.checkTimeout(cfg); err != nil {
			errs = append(errs, fmt.Errorf("targets::%d: %w", i, t.named(err)))
		}
	}
	return errors.Join(errs...)
}

// checkTimeout checks the target's timeout against its interval, either of them defaulting to
// the receiver's.
func (t *TargetConfig) checkTimeout(cfg *Config) error {
	interval := t.Interval
	if interval == 0 {
		interval = cfg.CollectionInterval
	}
	timeout := t.Timeout
	if timeout == 0 {
		timeout = cfg.Timeout
	}
	// Without an override, the receiver-level check already covers it; a negative value is the
	// target's own error.
	if (t.Interval != 0 || t.Timeout != 0) && t.Interval >= 0 && t.Timeout >= 0 && timeout >= interval {
		return fmt.Errorf("timeout: must be below the target's interval (%s), got %s", interval, timeout)
	}
	return nil
}

// named puts the target's name, when it has one, before err.
func (t *TargetConfig) named(err error) error {
	if err == nil || t.Name == "" {
		return err
	}
	return fmt.Errorf("target %q: %w", t.Name, err)
}

// validateName applies the registry's name rule (the one the breaker and the healthscore
// processor apply to the same names), so a name this config accepts is never dropped downstream.
func validateName(field, name string, required bool) error {
	if name == "" && !required {
		return nil
	}
	switch registry.CheckName(name, maxNameLength) {
	case registry.NameEmpty:
		return fmt.Errorf("%s: required", field)
	case registry.NameTooLong:
		return fmt.Errorf("%s: at most %d bytes, got %d", field, maxNameLength, len(name))
	case registry.NameInvalid:
		if !utf8.ValidString(name) {
			return fmt.Errorf("%s: must be valid UTF-8", field)
		}
		return fmt.Errorf("%s: must not contain control characters or bidirectional controls", field)
	case registry.NameBlank:
		return fmt.Errorf(`%s: must not be blank, "." or ".."`, field)
	}
	return nil
}

// Validate checks the target's own fields; its http settings and tls check themselves, and the
// checks against the receiver's defaults and the other targets are in Config.Validate.
func (t *TargetConfig) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(validateName("name", t.Name, true))
	add(validateName("service", t.Service, false))
	switch {
	case t.Interval < 0:
		add(fmt.Errorf("interval: must not be negative, got %s", t.Interval))
	case t.Interval != 0 && t.Interval < minInterval:
		add(fmt.Errorf("interval: must be at least %s, got %s", minInterval, t.Interval))
	}
	if t.Timeout < 0 {
		add(fmt.Errorf("timeout: must not be negative, got %s", t.Timeout))
	}
	if t.FailureThreshold < 0 || t.FailureThreshold > maxThreshold {
		add(fmt.Errorf("failure_threshold: must be between 1 and %d, got %d", maxThreshold, t.FailureThreshold))
	}
	if t.SuccessThreshold < 0 || t.SuccessThreshold > maxThreshold {
		add(fmt.Errorf("success_threshold: must be between 1 and %d, got %d", maxThreshold, t.SuccessThreshold))
	}
	add(t.validateEndpoint())
	if t.Type != TypeGRPC && t.GRPC.Service != "" {
		add(errors.New("grpc: only for targets of type grpc"))
	}
	if tlsCfg := t.TLS.Get(); tlsCfg != nil {
		add(checkTLSFiles("tls", tlsCfg))
	}
	return t.named(validation.Join(errs...))
}

// checkTLSFiles reports the TLS files a target names that cannot be read now, so `validate`
// catches a missing CA file before the collector runs (configtls checks the settings' form; it
// reads the files only when the client is built at start, where a file that went bad fails only
// its own target).
func checkTLSFiles(field string, c *configtls.ClientConfig) error {
	var errs []error
	for _, f := range []struct{ name, path string }{
		{"ca_file", c.CAFile}, {"cert_file", c.CertFile}, {"key_file", c.KeyFile},
	} {
		if f.path == "" {
			continue
		}
		fh, err := os.Open(f.path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", field, f.name, err))
			continue
		}
		st, err := fh.Stat()
		_ = fh.Close()
		if err == nil && st.IsDir() {
			errs = append(errs, fmt.Errorf("%s.%s: %s is a directory", field, f.name, f.path))
		}
	}
	return validation.Join(errs...)
}

// validateEndpoint checks the endpoint's form for the target's type.
func (t *TargetConfig) validateEndpoint() error {
	if len(t.Endpoint) > maxEndpointBytes {
		return fmt.Errorf("endpoint: at most %d bytes", maxEndpointBytes)
	}
	switch t.Type {
	case TypeHTTP:
		return validateURL("endpoint", t.Endpoint)
	case TypeTCP, TypeGRPC:
		err := validateHostPort("endpoint", t.Endpoint)
		if !isZeroHTTP(&t.HTTP) {
			err = validation.Join(err, errors.New("http: only for targets of type http"))
		}
		return err
	case "":
		return errors.New("type: required (http, tcp or grpc)")
	}
	return fmt.Errorf("type: must be http, tcp or grpc, got %q", t.Type)
}

func isZeroHTTP(h *HTTPConfig) bool {
	return h.Method == "" && len(h.Headers) == 0 && h.Body == "" && len(h.ExpectedStatus) == 0 &&
		h.BodyContains == "" && h.BodyRegex == "" && h.MaxBodyBytes == 0 && h.FollowRedirects == nil &&
		h.ProxyURL == "" && !h.PhaseTimings
}

func validateURL(field, endpoint string) error {
	if endpoint == "" {
		return fmt.Errorf("%s: required (a URL such as http://localhost:8080/healthz)", field)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("%s: not a URL: %w", field, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s: scheme must be http or https, got %q", field, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("%s: has no host", field)
	}
	return nil
}

func validateHostPort(field, endpoint string) error {
	if endpoint == "" {
		return fmt.Errorf("%s: required (host:port)", field)
	}
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		return fmt.Errorf("%s: want host:port: %w", field, err)
	}
	if host == "" {
		return fmt.Errorf("%s: has no host", field)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%s: port must be a number from 1 to 65535, got %q", field, port)
	}
	return nil
}

// isToken reports whether s is an HTTP method token (RFC 9110).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// Validate checks what an http target sends and expects; the settings of a target of another
// type are rejected by TargetConfig.Validate, so that only the zero value reaches here for them.
func (h *HTTPConfig) Validate() error {
	var errs []error
	if h.Method != "" && !isToken(h.Method) {
		errs = append(errs, fmt.Errorf("method: not an HTTP method: %q", h.Method))
	}
	if h.Method == http.MethodHead && (h.BodyContains != "" || h.BodyRegex != "") {
		errs = append(errs, fmt.Errorf("method: HEAD responses have no body to match body_contains or body_regex"))
	}
	if err := h.Headers.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("headers: %w", err))
	}
	for name := range h.Headers.Iter {
		if !isToken(name) {
			errs = append(errs, fmt.Errorf("headers: not a header name: %q", name))
		}
	}
	if len(h.Body) > maxRequestBody {
		errs = append(errs, fmt.Errorf("body: at most %d bytes", maxRequestBody))
	}
	for i, s := range h.ExpectedStatus {
		if _, err := probe.ParseStatus(s); err != nil {
			errs = append(errs, fmt.Errorf("expected_status::%d: %w", i, err))
		}
	}
	if h.BodyRegex != "" {
		if _, err := regexp.Compile(h.BodyRegex); err != nil {
			errs = append(errs, fmt.Errorf("body_regex: %w", err))
		}
	}
	if h.MaxBodyBytes < 0 || h.MaxBodyBytes > maxMaxBodyBytes {
		errs = append(errs, fmt.Errorf("max_body_bytes: must be between 1 and %d, got %d", maxMaxBodyBytes, h.MaxBodyBytes))
	}
	if h.ProxyURL != "" {
		if u, err := url.Parse(h.ProxyURL); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("proxy_url: not a proxy URL: %q", h.ProxyURL))
		}
	}
	return validation.Join(errs...)
}
