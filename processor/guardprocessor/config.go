package guardprocessor

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigil-collector/vigil/internal/validation"
)

// Config is the guard processor's configuration.
type Config struct {
	// MaxValueLength caps, in bytes, every string attribute value (resource, scope, span, data
	// point), attribute key, span name and metric name; longer ones are cut at a UTF-8 boundary.
	MaxValueLength int `mapstructure:"max_value_length"`
	// Series bounds the distinct series that pass: for metrics a series is (resource attributes,
	// metric name, data point attributes), for spans (resource attributes, span name, span kind),
	// the identity span_metrics aggregates by.
	Series SeriesConfig `mapstructure:"series"`
}

// SeriesConfig bounds the series that pass the processor.
type SeriesConfig struct {
	// MaxSeries caps the weight of the series tracked at once: one per gauge or sum series, the
	// bucket count + 2 per histogram series (the lines it takes in a Prometheus page).
	MaxSeries int `mapstructure:"max_series"`
	// MaxNewPerInterval caps the weight of the series admitted per Interval, so that a flood of
	// new names cannot take the whole budget at once.
	MaxNewPerInterval int `mapstructure:"max_new_per_interval"`
	// Interval is the period MaxNewPerInterval counts over.
	Interval time.Duration `mapstructure:"interval"`
	// Expiration is how long a series is kept without data before its budget is free again. Keep
	// it at least as long as the Prometheus exporter's metric_expiration.
	Expiration time.Duration `mapstructure:"expiration"`
}

// Validate checks the top-level fields.
func (c *Config) Validate() error {
	if c.MaxValueLength < 16 {
		return fmt.Errorf("max_value_length: must be at least 16 bytes, got %d", c.MaxValueLength)
	}
	return nil
}

// Validate checks the series bounds.
func (c *SeriesConfig) Validate() error {
	var errs []error
	if c.MaxSeries <= 0 {
		errs = append(errs, fmt.Errorf("max_series: must be positive, got %d", c.MaxSeries))
	}
	if c.MaxNewPerInterval <= 0 {
		errs = append(errs, fmt.Errorf("max_new_per_interval: must be positive, got %d", c.MaxNewPerInterval))
	} else if c.MaxSeries > 0 && c.MaxNewPerInterval > c.MaxSeries {
		errs = append(errs, fmt.Errorf("max_new_per_interval: %d is more than max_series %d", c.MaxNewPerInterval, c.MaxSeries))
	}
	if c.Interval < time.Second {
		errs = append(errs, fmt.Errorf("interval: must be at least 1s, got %s", c.Interval))
	}
	if c.Expiration < c.Interval {
		errs = append(errs, errors.New("expiration: must be at least interval ("+c.Interval.String()+"), got "+c.Expiration.String()))
	}
	return validation.Join(errs...)
}
