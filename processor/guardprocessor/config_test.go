package guardprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/vigil-collector/vigil/internal/componenttest"
	"github.com/vigil-collector/vigil/internal/ownmetrics"
	"github.com/vigil-collector/vigil/processor/guardprocessor/internal/metadata"
)

func TestDefaultConfigIsValid(t *testing.T) {
	require.NoError(t, confmap.Validate(componenttest.CheckFactory(t, NewFactory(), "guard")))
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.MustNewIDWithName("guard", "custom"), want: &Config{
			MaxValueLength: 128,
			Series:         SeriesConfig{MaxSeries: 1000, MaxNewPerInterval: 100, Interval: 30 * time.Second, Expiration: 3 * time.Minute},
		}},
		{id: component.MustNewIDWithName("guard", "short"), wantErr: "max_value_length: must be at least 16 bytes, got 4"},
		{id: component.MustNewIDWithName("guard", "zero_series"), wantErr: "series: max_series: must be positive, got 0"},
		{id: component.MustNewIDWithName("guard", "rate_over_cap"), wantErr: "series: max_new_per_interval: 50 is more than max_series 10"},
		{id: component.MustNewIDWithName("guard", "fast"), wantErr: "series: interval: must be at least 1s, got 10ms"},
		{id: component.MustNewIDWithName("guard", "expire_early"), wantErr: "series: expiration: must be at least interval (1m0s), got 10s"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := componenttest.Load(t, NewFactory(), tt.id)
			err := confmap.Validate(cfg)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

// TestDocumentationListsEveryMetric holds documentation.md to the processor's own telemetry.
func TestDocumentationListsEveryMetric(t *testing.T) {
	componenttest.AssertDocumented(t, ownmetrics.Names(new(metadata.TelemetryBuilder))...)
}
