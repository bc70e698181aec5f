package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"

	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
	"github.com/vigil-collector/vigil/internal/validation"
)

// Config of the breaker extension. Its HTTP API (/v1/breakers) is served by the status
// extension named in StatusExtension, on that extension's address and behind its auth.
type Config struct {
	// StatusExtension names the status extension that serves the breaker's HTTP API and
	// receives its transitions (for example "status"); empty: no HTTP API (the breakers still
	// decide, and gRPC health still serves).
	StatusExtension component.ID `mapstructure:"status_extension"`

	// GRPC, when set, serves the gRPC health protocol (grpc.health.v1) on its own endpoint.
	GRPC configoptional.Optional[configgrpc.ServerConfig] `mapstructure:"grpc"`

	// MaxTargets caps the tracked targets; past it the least recently seen are evicted.
	MaxTargets int `mapstructure:"max_targets"`
	// MaxTargetLength caps a target name in bytes.
	MaxTargetLength int `mapstructure:"max_target_length"`
	// ConsecutiveFailures opens after this many failures in a row (0 disables the rule); the run
	// grows for targets whose learned failure rate makes such a run likely by chance.
	ConsecutiveFailures int `mapstructure:"consecutive_failures"`
	// Window is the rolling window of the rate rules, kept in WindowBuckets buckets.
	Window        time.Duration `mapstructure:"window"`
	WindowBuckets int           `mapstructure:"window_buckets"`
	// MinCalls is how many calls the window needs before a rate rule may trip.
	MinCalls int `mapstructure:"min_calls"`
	// SignificanceZ is how far (one-sided Wilson score, in standard deviations) a window's rate
	// must sit above its threshold to trip.
	SignificanceZ float64 `mapstructure:"significance_z"`

	FailureRate FailureRateConfig `mapstructure:"failure_rate"`
	SlowCall    SlowCallConfig    `mapstructure:"slow_call"`
	Baseline    BaselineConfig    `mapstructure:"baseline"`
	Open        OpenConfig        `mapstructure:"open"`
	HalfOpen    HalfOpenConfig    `mapstructure:"half_open"`
	Watch       WatchConfig       `mapstructure:"watch"`

	// TransitionHistory is how many transitions each target keeps for the API.
	TransitionHistory int `mapstructure:"transition_history"`
}

// FailureRateConfig is the failure-rate rule.
type FailureRateConfig struct {
	// MinIncrease and RelativeIncrease make the threshold: baseline + max(min, relative × baseline).
	MinIncrease      float64 `mapstructure:"min_increase"`
	RelativeIncrease float64 `mapstructure:"relative_increase"`
	// MaxBaseline caps what the baseline may learn as normal; it is also the threshold's floor
	// until the baseline is warm.
	MaxBaseline float64 `mapstructure:"max_baseline"`
}

// SlowCallConfig is the slow-call rule.
type SlowCallConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// A successful call is slow above Multiplier × the learned Quantile of latency, or above
	// Threshold when it is set (> 0).
	Quantile   float64       `mapstructure:"quantile"`
	Multiplier float64       `mapstructure:"multiplier"`
	Threshold  time.Duration `mapstructure:"threshold"`
	// MinIncrease and RelativeIncrease make the slow-rate threshold over the learned slow rate.
	MinIncrease      float64 `mapstructure:"min_increase"`
	RelativeIncrease float64 `mapstructure:"relative_increase"`
}

// BaselineConfig is how baselines learn.
type BaselineConfig struct {
	// HalfLife is how fast the baselines forget.
	HalfLife time.Duration `mapstructure:"half_life"`
	// WarmupCalls is the weight of the priors, and how many calls a baseline learns before it is
	// trusted.
	WarmupCalls int `mapstructure:"warmup_calls"`
	// InitialFailureRate is the failure rate assumed before anything is learned.
	InitialFailureRate float64 `mapstructure:"initial_failure_rate"`
}

// OpenConfig is the open state's backoff.
type OpenConfig struct {
	Initial    time.Duration `mapstructure:"initial"`
	Multiplier float64       `mapstructure:"multiplier"`
	Max        time.Duration `mapstructure:"max"`
	Jitter     float64       `mapstructure:"jitter"`
	// DecayAfter forgets one consecutive opening per this long spent closed.
	DecayAfter time.Duration `mapstructure:"decay_after"`
}

// HalfOpenConfig is the half-open ramp.
type HalfOpenConfig struct {
	// Steps are admission percentages, increasing, ending at 100.
	Steps []float64 `mapstructure:"steps"`
	// SuccessesPerStep is how many successes a step needs before the next.
	SuccessesPerStep int `mapstructure:"successes_per_step"`
	// MaxStepDuration advances a step with at least one success after this long.
	MaxStepDuration time.Duration `mapstructure:"max_step_duration"`
}

// WatchConfig bounds the gRPC health Watch streams (the server-sent events of /v1/watch are the
// status extension's).
type WatchConfig struct {
	// MaxSubscribers caps concurrent watch streams.
	MaxSubscribers int `mapstructure:"max_subscribers"`
	// Buffer is how many transitions wait for a slow subscriber before they are dropped.
	Buffer int `mapstructure:"buffer"`
}

var (
	_ confmap.Validator = (*Config)(nil)
	_ confmap.Validator = (*FailureRateConfig)(nil)
	_ confmap.Validator = (*SlowCallConfig)(nil)
	_ confmap.Validator = (*BaselineConfig)(nil)
	_ confmap.Validator = (*OpenConfig)(nil)
	_ confmap.Validator = (*HalfOpenConfig)(nil)
	_ confmap.Validator = (*WatchConfig)(nil)
)

func unit(v float64) bool { return v >= 0 && v <= 1 }

// Validate checks the top-level settings and those that depend on each other; the nested
// sections validate themselves.
func (c *Config) Validate() error {
	var cs validation.List
	cs.Check(c.MaxTargets > 0, "max_targets", "must be positive, got %d", c.MaxTargets)
	cs.Check(c.MaxTargetLength > 0 && c.MaxTargetLength <= 4096, "max_target_length", "must be in 1..4096, got %d", c.MaxTargetLength)
	cs.Check(c.ConsecutiveFailures >= 0, "consecutive_failures", "must not be negative, got %d", c.ConsecutiveFailures)
	cs.Check(c.Window > 0, "window", "must be positive, got %s", c.Window)
	cs.Check(c.WindowBuckets > 0 && c.WindowBuckets <= 600, "window_buckets", "must be in 1..600, got %d", c.WindowBuckets)
	if c.Window > 0 && c.WindowBuckets > 0 {
		cs.Check(c.Window/time.Duration(c.WindowBuckets) >= time.Millisecond, "window_buckets", "buckets must be at least 1ms wide (window %s / %d buckets)", c.Window, c.WindowBuckets)
	}
	cs.Check(c.MinCalls > 0, "min_calls", "must be positive, got %d", c.MinCalls)
	cs.Check(c.SignificanceZ > 0, "significance_z", "must be positive, got %v", c.SignificanceZ)
	cs.Check(c.TransitionHistory > 0 && c.TransitionHistory <= 1024, "transition_history", "must be in 1..1024, got %d", c.TransitionHistory)
	return cs.Err()
}

// Validate checks the failure-rate rule.
func (c *FailureRateConfig) Validate() error {
	var cs validation.List
	cs.Check(unit(c.MinIncrease), "min_increase", "must be in [0, 1], got %v", c.MinIncrease)
	cs.Check(c.RelativeIncrease >= 0, "relative_increase", "must not be negative, got %v", c.RelativeIncrease)
	cs.Check(c.MaxBaseline > 0 && c.MaxBaseline < 1, "max_baseline", "must be in (0, 1), got %v", c.MaxBaseline)
	return cs.Err()
}

// Validate checks the slow-call rule.
func (c *SlowCallConfig) Validate() error {
	var cs validation.List
	cs.Check(c.Quantile > 0 && c.Quantile < 1, "quantile", "must be in (0, 1), got %v", c.Quantile)
	cs.Check(c.Multiplier > 0, "multiplier", "must be positive, got %v", c.Multiplier)
	cs.Check(c.Threshold >= 0, "threshold", "must not be negative, got %s", c.Threshold)
	cs.Check(unit(c.MinIncrease), "min_increase", "must be in [0, 1], got %v", c.MinIncrease)
	cs.Check(c.RelativeIncrease >= 0, "relative_increase", "must not be negative, got %v", c.RelativeIncrease)
	return cs.Err()
}

// Validate checks how baselines learn.
func (c *BaselineConfig) Validate() error {
	var cs validation.List
	cs.Check(c.HalfLife > 0, "half_life", "must be positive, got %s", c.HalfLife)
	cs.Check(c.WarmupCalls > 0, "warmup_calls", "must be positive, got %d", c.WarmupCalls)
	cs.Check(c.InitialFailureRate > 0 && c.InitialFailureRate < 1, "initial_failure_rate", "must be in (0, 1), got %v", c.InitialFailureRate)
	return cs.Err()
}

// Validate checks the open state's backoff.
func (c *OpenConfig) Validate() error {
	var cs validation.List
	cs.Check(c.Initial > 0, "initial", "must be positive, got %s", c.Initial)
	cs.Check(c.Multiplier >= 1, "multiplier", "must be at least 1, got %v", c.Multiplier)
	cs.Check(c.Max >= c.Initial, "max", "must be at least open.initial (%s), got %s", c.Initial, c.Max)
	cs.Check(c.Jitter >= 0 && c.Jitter < 1, "jitter", "must be in [0, 1), got %v", c.Jitter)
	cs.Check(c.DecayAfter >= 0, "decay_after", "must not be negative, got %s", c.DecayAfter)
	return cs.Err()
}

// Validate checks the half-open ramp.
func (c *HalfOpenConfig) Validate() error {
	var cs validation.List
	cs.Check(c.SuccessesPerStep > 0, "successes_per_step", "must be positive, got %d", c.SuccessesPerStep)
	cs.Check(c.MaxStepDuration >= 0, "max_step_duration", "must not be negative, got %s", c.MaxStepDuration)
	if err := validateSteps(c.Steps); err != nil {
		cs.Add("steps", "%w", err)
	}
	return cs.Err()
}

// Validate checks the watch streams' bounds.
func (c *WatchConfig) Validate() error {
	var cs validation.List
	cs.Check(c.MaxSubscribers > 0, "max_subscribers", "must be positive, got %d", c.MaxSubscribers)
	cs.Check(c.Buffer > 0, "buffer", "must be positive, got %d", c.Buffer)
	return cs.Err()
}

func validateSteps(steps []float64) error {
	if len(steps) == 0 {
		return errors.New("must list at least one step")
	}
	prev := 0.0
	for i, s := range steps {
		if s <= prev || s > 100 {
			return fmt.Errorf("step %d (%v) must be above the previous one and at most 100", i+1, s)
		}
		prev = s
	}
	if prev != 100 {
		return fmt.Errorf("must end at 100, ends at %v", prev)
	}
	return nil
}

// settings maps the config onto the breaker's settings.
func (c *Config) settings() breaker.Settings {
	return breaker.Settings{
		MaxTargets:              c.MaxTargets,
		MaxTargetLength:         c.MaxTargetLength,
		ConsecutiveFailures:     c.ConsecutiveFailures,
		Window:                  c.Window,
		WindowBuckets:           c.WindowBuckets,
		MinCalls:                c.MinCalls,
		Z:                       c.SignificanceZ,
		FailureMinIncrease:      c.FailureRate.MinIncrease,
		FailureRelativeIncrease: c.FailureRate.RelativeIncrease,
		MaxBaselineFailureRate:  c.FailureRate.MaxBaseline,
		SlowEnabled:             c.SlowCall.Enabled,
		SlowQuantile:            c.SlowCall.Quantile,
		SlowMultiplier:          c.SlowCall.Multiplier,
		SlowThreshold:           c.SlowCall.Threshold,
		SlowMinIncrease:         c.SlowCall.MinIncrease,
		SlowRelativeIncrease:    c.SlowCall.RelativeIncrease,
		BaselineHalfLife:        c.Baseline.HalfLife,
		WarmupCalls:             c.Baseline.WarmupCalls,
		InitialFailureRate:      c.Baseline.InitialFailureRate,
		OpenInitial:             c.Open.Initial,
		OpenMultiplier:          c.Open.Multiplier,
		OpenMax:                 c.Open.Max,
		OpenJitter:              c.Open.Jitter,
		OpenDecayAfter:          c.Open.DecayAfter,
		HalfOpenSteps:           append([]float64(nil), c.HalfOpen.Steps...),
		SuccessesPerStep:        c.HalfOpen.SuccessesPerStep,
		MaxStepDuration:         c.HalfOpen.MaxStepDuration,
		TransitionHistory:       c.TransitionHistory,
	}
}
