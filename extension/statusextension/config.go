package statusextension // import "github.com/vigil-collector/vigil/extension/statusextension"

import (
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/confmap"

	"github.com/vigil-collector/vigil/internal/validation"
)

// Config of the status extension. The API server's settings (endpoint, auth, tls, ...) sit at
// the top level, as confighttp defines them: this extension owns Vigil's one API server.
type Config struct {
	confighttp.ServerConfig `mapstructure:",squash"`

	// MaxComponents caps the components the status holds; past it, new names are counted and
	// dropped.
	MaxComponents int `mapstructure:"max_components"`
	// MaxNameLength caps a service name, in bytes.
	MaxNameLength int `mapstructure:"max_name_length"`
	// Critical names the components whose score bounds the overall score.
	Critical []string `mapstructure:"critical"`
	// ScoreChange is the score move that makes a component event on the watch stream (a status
	// change always does).
	ScoreChange float64 `mapstructure:"score_change"`

	Incidents IncidentsConfig `mapstructure:"incidents"`
	Watch     WatchConfig     `mapstructure:"watch"`
	Page      PageConfig      `mapstructure:"page"`
	API       APIConfig       `mapstructure:"api"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// IncidentsConfig bounds the incidents kept.
type IncidentsConfig struct {
	// Max caps the incidents kept; past it the oldest resolved go first.
	Max int `mapstructure:"max"`
	// Retention is how long a resolved incident is kept.
	Retention time.Duration `mapstructure:"retention"`
	// MaxEvents caps one incident's timeline; past it the oldest events after the first go.
	MaxEvents int `mapstructure:"max_events"`
}

// WatchConfig bounds the watch streams (/v1/watch).
type WatchConfig struct {
	// MaxSubscribers caps concurrent watch streams.
	MaxSubscribers int `mapstructure:"max_subscribers"`
	// Buffer is how many events wait for a slow subscriber before they are dropped.
	Buffer int `mapstructure:"buffer"`
}

// PageConfig is the status page at /.
type PageConfig struct {
	Enabled bool `mapstructure:"enabled"`
}

// APIConfig bounds the API's pages.
type APIConfig struct {
	// DefaultLimit and MaxLimit are the components per /v1/status page when ?limit= is absent,
	// and the most it may ask for.
	DefaultLimit int `mapstructure:"default_limit"`
	MaxLimit     int `mapstructure:"max_limit"`
	// MaxIncidentsPerPage caps /v1/incidents pages.
	MaxIncidentsPerPage int `mapstructure:"max_incidents_per_page"`
}

var (
	_ confmap.Validator = (*Config)(nil)
	_ confmap.Validator = (*IncidentsConfig)(nil)
	_ confmap.Validator = (*WatchConfig)(nil)
	_ confmap.Validator = (*APIConfig)(nil)
)

// Bounds of the settings.
const (
	maxCap           = 10_000_000
	maxNameLengthCap = 64 << 10
	maxEventsCap     = 10_000
	maxBufferCap     = 1 << 20
)

// Validate checks the top-level settings and the cross-field rules; the nested configs
// validate themselves (confmap walks them and prefixes the field path).
func (c *Config) Validate() error {
	var errs []error
	if c.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: must be set"))
	}
	errs = append(errs, validation.Between("max_components", c.MaxComponents, 1, maxCap))
	errs = append(errs, validation.Between("max_name_length", c.MaxNameLength, 1, maxNameLengthCap))
	seen := map[string]bool{}
	for i, name := range c.Critical {
		if !validName(name, c.MaxNameLength) {
			errs = append(errs, fmt.Errorf("critical[%d]: %q is not a valid service name", i, name))
		} else if seen[name] {
			errs = append(errs, fmt.Errorf("critical[%d]: %q is listed twice", i, name))
		}
		seen[name] = true
	}
	if !(c.ScoreChange > 0 && c.ScoreChange <= 1) {
		errs = append(errs, fmt.Errorf("score_change: must be above 0 and at most 1, got %v", c.ScoreChange))
	}
	if c.API.DefaultLimit > c.API.MaxLimit && c.API.MaxLimit > 0 {
		errs = append(errs, fmt.Errorf("api.default_limit: must be at most api.max_limit (%d), got %d", c.API.MaxLimit, c.API.DefaultLimit))
	}
	return errors.Join(errs...)
}

// Validate checks the incident bounds.
func (c *IncidentsConfig) Validate() error {
	var errs []error
	errs = append(errs, validation.Between("max", c.Max, 1, maxCap))
	if c.Retention <= 0 {
		errs = append(errs, fmt.Errorf("retention: must be above 0, got %s", c.Retention))
	}
	errs = append(errs, validation.Between("max_events", c.MaxEvents, 2, maxEventsCap))
	return errors.Join(errs...)
}

// Validate checks the watch bounds.
func (c *WatchConfig) Validate() error {
	return errors.Join(
		validation.Between("max_subscribers", c.MaxSubscribers, 1, 100_000),
		validation.Between("buffer", c.Buffer, 1, maxBufferCap))
}

// Validate checks the page bounds.
func (c *APIConfig) Validate() error {
	var errs []error
	errs = append(errs, validation.Between("max_limit", c.MaxLimit, 1, maxCap))
	if c.DefaultLimit < 1 {
		errs = append(errs, fmt.Errorf("default_limit: must be at least 1, got %d", c.DefaultLimit))
	}
	errs = append(errs, validation.Between("max_incidents_per_page", c.MaxIncidentsPerPage, 1, 100_000))
	return errors.Join(errs...)
}

// validName is the name rule of services: non-empty, at most max bytes, UTF-8, no control
// characters.
func validName(name string, max int) bool {
	if name == "" || len(name) > max || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
