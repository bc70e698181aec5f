package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/vigil-collector/vigil/testbed/harness"
)

// The components every Vigil build must contain (see builder-config.yaml).
var wantComponents = map[string][]string{
	"receivers":  {"otlp", "host_metrics"},
	"processors": {"memory_limiter", "batch", "resource", "healthscore", "predict"},
	"exporters":  {"debug", "otlp_grpc", "otlp_http", "prometheus"},
	"extensions": {"healthcheckv2", "zpages", "bearertokenauth", "file_storage", "breaker"},
	"connectors": {"span_metrics"},
}

func TestComponentsListed(t *testing.T) {
	res := harness.Run(t, 30*time.Second, "components")
	require.Equal(t, 0, res.ExitCode, res.Output)
	var listed map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(res.Output), &listed), res.Output)
	for kind, names := range wantComponents {
		entries, _ := listed[kind].([]any)
		var got []string
		for _, e := range entries {
			if m, ok := e.(map[string]any); ok {
				got = append(got, fmt.Sprint(m["name"]))
			}
		}
		for _, name := range names {
			assert.Contains(t, got, name, "%s", kind)
		}
	}
}

// shippedConfigs returns every collector config the repository ships: the default and each
// deploy/*.yaml that is a collector config (the Kubernetes ConfigMaps are generated from these).
func shippedConfigs(t *testing.T) map[string]string {
	t.Helper()
	root := harness.RepoRoot()
	paths, err := filepath.Glob(filepath.Join(root, "deploy", "*.yaml"))
	require.NoError(t, err)
	paths = append(paths, filepath.Join(root, "otelcol-config.yaml"))
	configs := map[string]string{}
	for _, p := range paths {
		if filepath.Base(p) == "kustomization.yaml" {
			continue
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, p)
		configs[rel] = string(b)
	}
	require.Contains(t, configs, "deploy/agent.yaml")
	require.Contains(t, configs, "deploy/gateway.yaml")
	return configs
}

// TestKubernetesManifests checks that the kustomization's resources exist and are Kubernetes
// objects, that its ConfigMaps are generated from validated configs, and that the workloads mount them.
func TestKubernetesManifests(t *testing.T) {
	root := filepath.Join(harness.RepoRoot(), "deploy")
	var kust struct {
		Resources          []string
		ConfigMapGenerator []struct {
			Name  string
			Files []string
		} `yaml:"configMapGenerator"`
	}
	b, err := os.ReadFile(filepath.Join(root, "kustomization.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &kust))

	configs := shippedConfigs(t)
	generated := map[string]bool{}
	for _, g := range kust.ConfigMapGenerator {
		require.Len(t, g.Files, 1, g.Name)
		key, file, ok := strings.Cut(g.Files[0], "=")
		require.True(t, ok, "%s: want key=file", g.Name)
		assert.Equal(t, "config.yaml", key)
		assert.Contains(t, configs, filepath.Join("deploy", file), "ConfigMap %s must come from a validated config", g.Name)
		generated[g.Name] = true
	}

	kinds := map[string]int{}
	for _, res := range kust.Resources {
		b, err := os.ReadFile(filepath.Join(root, res))
		require.NoError(t, err, res)
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		for {
			var obj struct {
				APIVersion string `yaml:"apiVersion"`
				Kind       string
				Metadata   struct{ Name string }
				Spec       struct {
					Template struct {
						Spec struct {
							Volumes []struct {
								ConfigMap *struct{ Name string } `yaml:"configMap"`
							}
						}
					}
				}
			}
			if err := dec.Decode(&obj); err != nil {
				break
			}
			require.NotEmpty(t, obj.APIVersion, res)
			require.NotEmpty(t, obj.Metadata.Name, res)
			kinds[obj.Kind]++
			for _, v := range obj.Spec.Template.Spec.Volumes {
				if v.ConfigMap != nil {
					assert.True(t, generated[v.ConfigMap.Name], "%s mounts ConfigMap %s, which the kustomization does not generate", obj.Metadata.Name, v.ConfigMap.Name)
				}
			}
		}
	}
	assert.Equal(t, map[string]int{"Namespace": 1, "DaemonSet": 1, "Deployment": 1, "Service": 1}, kinds)
}

func TestShippedConfigsValidate(t *testing.T) {
	configs := shippedConfigs(t)
	names := make([]string, 0, len(configs))
	for name := range configs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			res := harness.Run(t, 30*time.Second, "validate", "--config="+harness.WriteConfig(t, configs[name]))
			assert.Equal(t, 0, res.ExitCode, "validate %s:\n%s", name, res.Output)
		})
	}
}

func TestBadConfigExitsWithClearError(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   []string // substrings of the collector's message
	}{
		{
			name: "unknown key",
			config: `
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:0}
    bogus_setting: 1
exporters:
  debug:
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`,
			want: []string{"'receivers' error reading configuration for \"otlp\"", "invalid keys: bogus_setting"},
		},
		{
			name: "wrong type",
			config: `
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:0}
processors:
  batch:
    send_batch_size: lots
exporters:
  debug:
service:
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [debug]}
`,
			want: []string{"'processors' error reading configuration for \"batch\"", "'send_batch_size' expected type 'uint32'"},
		},
		{
			name: "unknown component type",
			config: `
receivers:
  nosuchreceiver:
exporters:
  debug:
service:
  pipelines:
    traces: {receivers: [nosuchreceiver], exporters: [debug]}
`,
			want: []string{"unknown type: \"nosuchreceiver\""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := harness.WriteConfig(t, tt.config)
			for _, args := range [][]string{{"validate", "--config=" + path}, {"--config=" + path}} {
				res := harness.Run(t, 30*time.Second, args...)
				assert.NotEqual(t, 0, res.ExitCode, "%v must fail:\n%s", args, res.Output)
				for _, w := range tt.want {
					assert.Contains(t, res.Output, w, "%v", args)
				}
			}
		})
	}
}

func TestPortInUseExitsWithClearError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	config := fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      grpc: {endpoint: %s}
exporters:
  debug:
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`, busy.Addr())
	res := harness.Run(t, 30*time.Second, "--config="+harness.WriteConfig(t, config))
	assert.NotEqual(t, 0, res.ExitCode, res.Output)
	assert.Contains(t, res.Output, "address already in use")
	assert.Contains(t, res.Output, busy.Addr().String())
}
