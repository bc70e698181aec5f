package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/vigil-collector/vigil/testbed/harness"
)

// The parts of the rendered Kubernetes objects that decide whether the workloads start.
type k8sObject struct {
	Kind     string
	Metadata struct {
		Name, Namespace string
		Labels          map[string]string
	}
	Data map[string]string
	Spec struct {
		Selector yaml.Node
		Ports    []struct {
			Name       string
			Port       int
			TargetPort string `yaml:"targetPort"`
		}
		Template struct {
			Metadata struct{ Labels map[string]string }
			Spec     podSpec
		}
	}
}

type podSpec struct {
	SecurityContext struct {
		FSGroup *int `yaml:"fsGroup"`
	} `yaml:"securityContext"`
	InitContainers []k8sContainer `yaml:"initContainers"`
	Containers     []k8sContainer
	Volumes        []struct {
		Name      string
		ConfigMap *struct{ Name string } `yaml:"configMap"`
		Secret    *struct {
			SecretName string `yaml:"secretName"`
			Items      []struct{ Key, Path string }
		}
		HostPath *struct{ Path, Type string } `yaml:"hostPath"`
		EmptyDir any                          `yaml:"emptyDir"`
	}
}

type k8sContainer struct {
	Name    string
	Args    []string
	Command []string
	Env     []struct{ Name, Value string }
	Ports   []struct {
		Name          string
		ContainerPort int `yaml:"containerPort"`
	}
	LivenessProbe   *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe  *k8sProbe `yaml:"readinessProbe"`
	Resources       struct{ Requests, Limits map[string]string }
	SecurityContext struct {
		RunAsUser              *int  `yaml:"runAsUser"`
		RunAsGroup             *int  `yaml:"runAsGroup"`
		RunAsNonRoot           *bool `yaml:"runAsNonRoot"`
		ReadOnlyRootFilesystem bool  `yaml:"readOnlyRootFilesystem"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string
		Port string
	} `yaml:"httpGet"`
}

// renderKustomization runs the pinned kustomize (make test passes its path) on deploy/.
func renderKustomization(t *testing.T) []k8sObject {
	t.Helper()
	tool := os.Getenv("VIGIL_KUSTOMIZE")
	if tool == "" {
		p, err := exec.LookPath("kustomize")
		if err != nil {
			t.Skip("kustomize not found: make test installs the pinned one and sets VIGIL_KUSTOMIZE")
		}
		tool = p
	}
	out, err := exec.Command(tool, "build", filepath.Join(harness.RepoRoot(), "deploy")).Output()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		t.Fatalf("kustomize build deploy/: %v\n%s", err, exitErr.Stderr)
	}
	require.NoError(t, err)
	var objs []k8sObject
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		objs = append(objs, o)
	}
	return objs
}

// mebibytes reads a Kubernetes memory quantity (Mi, Gi).
func mebibytes(t *testing.T, q string) float64 {
	t.Helper()
	for suffix, mul := range map[string]float64{"Mi": 1, "Gi": 1024} {
		if v, ok := strings.CutSuffix(q, suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err, q)
			return f * mul
		}
	}
	t.Fatalf("memory quantity %q: want Mi or Gi", q)
	return 0
}

var envRef = regexp.MustCompile(`\$\(([A-Z_]+)\)`)

// TestKubernetesRendered renders deploy/ with kustomize and checks what kept the workloads from
// starting: writable queue and state folders for the container's user, probes on the health
// endpoint the config serves, TLS between agent and gateway from one Secret, memory limits for the
// memory limiter, and configs that the binary validates with the Pods' environment.
func TestKubernetesRendered(t *testing.T) {
	objs := renderKustomization(t)
	kinds := map[string]int{}
	byKind := map[string]k8sObject{}
	configMaps := map[string]map[string]string{}
	for _, o := range objs {
		kinds[o.Kind]++
		byKind[o.Kind] = o
		if o.Kind != "Namespace" {
			assert.Equal(t, "vigil", o.Metadata.Namespace, "%s %s", o.Kind, o.Metadata.Name)
		}
		if o.Kind == "ConfigMap" {
			configMaps[o.Metadata.Name] = o.Data
		}
	}
	require.Equal(t, map[string]int{"Namespace": 1, "ConfigMap": 2, "Service": 1, "Deployment": 1, "DaemonSet": 1}, kinds)
	for name, file := range map[string]string{"vigil-agent-config": "agent.yaml", "vigil-gateway-config": "gateway.yaml"} {
		b, err := os.ReadFile(shippedConfig(file))
		require.NoError(t, err)
		assert.Equal(t, string(b), configMaps[name]["config.yaml"], "ConfigMap %s is deploy/%s", name, file)
	}

	svc := byKind["Service"]
	gateway, agent := byKind["Deployment"], byKind["DaemonSet"]
	var sel struct {
		App string `yaml:"app.kubernetes.io/name"`
	}
	require.NoError(t, svc.Spec.Selector.Decode(&sel))
	assert.Equal(t, gateway.Spec.Template.Metadata.Labels["app.kubernetes.io/name"], sel.App, "the Service selects the gateway")

	gwEnv := checkWorkload(t, gateway, configMaps)
	agEnv := checkWorkload(t, agent, configMaps)

	// TLS: the gateway serves the Secret's certificate, the agent trusts its CA and sends to the Service.
	assert.NotEqual(t, "false", gwEnv["VIGIL_TLS_ENABLED"])
	assert.NotEqual(t, "true", agEnv["VIGIL_GATEWAY_INSECURE"])
	certSecret := secretOf(t, gateway.Spec.Template.Spec, gwEnv["VIGIL_TLS_CERT_FILE"])
	assert.Equal(t, certSecret, secretOf(t, gateway.Spec.Template.Spec, gwEnv["VIGIL_TLS_KEY_FILE"]))
	assert.Equal(t, certSecret, secretOf(t, agent.Spec.Template.Spec, agEnv["VIGIL_GATEWAY_CA_FILE"]), "the agent trusts the CA of the gateway's certificate")
	grpcPort := 0
	for _, p := range svc.Spec.Ports {
		if p.Name == "otlp-grpc" {
			grpcPort = p.Port
		}
		assert.NotZero(t, containerPort(gateway.Spec.Template.Spec.Containers[0], p.TargetPort), "Service port %s targets a gateway port", p.Name)
	}
	assert.Equal(t, fmt.Sprintf("%s.%s.svc:%d", svc.Metadata.Name, svc.Metadata.Namespace, grpcPort), agEnv["VIGIL_GATEWAY_ENDPOINT"])
}

// checkWorkload checks one workload's collector container and returns its environment.
func checkWorkload(t *testing.T, o k8sObject, configMaps map[string]map[string]string) map[string]string {
	t.Helper()
	pod := o.Spec.Template.Spec
	require.Len(t, pod.Containers, 1, o.Metadata.Name)
	c := pod.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		if e.Value == "" {
			env[e.Name] = "127.0.0.1" // valueFrom the downward API: the Pod's IP, the node's name
			continue
		}
		env[e.Name] = envRef.ReplaceAllStringFunc(e.Value, func(ref string) string {
			return env[envRef.FindStringSubmatch(ref)[1]]
		})
	}

	sc := c.SecurityContext
	require.NotNil(t, sc.RunAsUser, o.Metadata.Name)
	uid := *sc.RunAsUser
	assert.NotZero(t, uid, "%s runs as root", o.Metadata.Name)
	assert.True(t, sc.RunAsNonRoot != nil && *sc.RunAsNonRoot, o.Metadata.Name)
	assert.True(t, sc.ReadOnlyRootFilesystem, o.Metadata.Name)

	// The config: the mounted ConfigMap, and the binary validates it with this environment.
	mounts := map[string]string{} // mount path -> volume
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	var config string
	for _, a := range c.Args {
		if p, ok := strings.CutPrefix(a, "--config="); ok {
			vol := mounts[filepath.Dir(p)]
			for _, v := range pod.Volumes {
				if v.Name == vol && v.ConfigMap != nil {
					config = configMaps[v.ConfigMap.Name][filepath.Base(p)]
				}
			}
		}
	}
	require.NotEmpty(t, config, "%s: --config names a file of a mounted ConfigMap", o.Metadata.Name)
	// Here, a path inside a hostPath mount is that path on this machine.
	local := map[string]string{}
	for k, v := range env {
		local[k] = v
		for _, vol := range pod.Volumes {
			if vol.HostPath != nil {
				for _, m := range c.VolumeMounts {
					if m.Name == vol.Name && m.MountPath == v {
						local[k] = vol.HostPath.Path
					}
				}
			}
		}
	}
	validateWithEnv(t, config, local)

	// Probes: the health endpoint's port and the status path the config serves.
	_, healthPort, ok := strings.Cut(env["VIGIL_HEALTH_ENDPOINT"], ":")
	require.True(t, ok, "%s: VIGIL_HEALTH_ENDPOINT", o.Metadata.Name)
	assert.Contains(t, config, "path: /health/status")
	for _, p := range []*k8sProbe{c.LivenessProbe, c.ReadinessProbe} {
		require.True(t, p != nil && p.HTTPGet != nil, "%s: liveness and readiness probes", o.Metadata.Name)
		assert.Equal(t, "/health/status", p.HTTPGet.Path)
		assert.Equal(t, healthPort, strconv.Itoa(containerPort(c, p.HTTPGet.Port)), "%s: probe port", o.Metadata.Name)
	}

	// Memory: the memory limiter is absolute (limit_mib) and sized for the container's limit, with
	// room left for what the Go heap does not count (at most 80 % of the limit).
	limit, request := c.Resources.Limits["memory"], c.Resources.Requests["memory"]
	require.NotEmpty(t, limit, "%s: a memory limit", o.Metadata.Name)
	require.NotEmpty(t, request, "%s: a memory request", o.Metadata.Name)
	assert.LessOrEqual(t, mebibytes(t, request), mebibytes(t, limit))
	m := regexp.MustCompile(`(?m)^\s+limit_mib: (\d+)$`).FindStringSubmatch(config)
	require.Len(t, m, 2, "%s: memory_limiter.limit_mib in the config", o.Metadata.Name)
	limitMiB, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	assert.LessOrEqual(t, float64(limitMiB), 0.8*mebibytes(t, limit), "%s: memory_limiter.limit_mib within 80 %% of the container's limit", o.Metadata.Name)

	// Folders the collector writes: a mounted volume the container's user can write.
	for _, key := range []string{"VIGIL_STORAGE_DIR", "VIGIL_STATE_DIR"} {
		dir, ok := env[key]
		if !ok {
			continue
		}
		vol, mounted := mounts[dir]
		require.True(t, mounted, "%s: %s=%s is not a mounted volume (the root filesystem is read-only)", o.Metadata.Name, key, dir)
		checkWritable(t, o, vol, dir, uid)
	}
	return env
}

// checkWritable checks that volume vol, mounted at dir, is writable by uid: an emptyDir (with the
// Pod's fsGroup), or a hostPath handed to uid by an init container.
func checkWritable(t *testing.T, o k8sObject, vol, dir string, uid int) {
	t.Helper()
	pod := o.Spec.Template.Spec
	for _, v := range pod.Volumes {
		if v.Name != vol {
			continue
		}
		switch {
		case v.EmptyDir != nil:
			require.NotNil(t, pod.SecurityContext.FSGroup, "%s: emptyDir %s without fsGroup", o.Metadata.Name, vol)
		case v.HostPath != nil:
			chowned := false
			for _, ic := range pod.InitContainers {
				for _, m := range ic.VolumeMounts {
					script := strings.Join(ic.Command, " ")
					if m.Name == vol && !m.ReadOnly && strings.Contains(script, fmt.Sprintf("chown -R %d:", uid)) && strings.Contains(script, m.MountPath) {
						chowned = true
					}
				}
			}
			assert.True(t, chowned, "%s: hostPath %s (%s) is created root-owned: an init container must chown it to %d", o.Metadata.Name, vol, dir, uid)
		default:
			t.Errorf("%s: volume %s at %s is neither an emptyDir nor a hostPath", o.Metadata.Name, vol, dir)
		}
		return
	}
	t.Errorf("%s: no volume %s", o.Metadata.Name, vol)
}

// secretOf returns the Secret a file path is mounted from, checking that it holds the file.
func secretOf(t *testing.T, pod podSpec, path string) string {
	t.Helper()
	c := pod.Containers[0]
	for _, m := range c.VolumeMounts {
		if filepath.Dir(path) != m.MountPath {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			if len(v.Secret.Items) > 0 {
				found := false
				for _, it := range v.Secret.Items {
					found = found || it.Path == filepath.Base(path)
				}
				assert.True(t, found, "%s is not among the Secret's items", path)
			}
			return v.Secret.SecretName
		}
	}
	t.Errorf("%s is not in a mounted Secret", path)
	return ""
}

// containerPort resolves a probe's or Service's port (a name or a number) to a container port.
func containerPort(c k8sContainer, port string) int {
	if n, err := strconv.Atoi(port); err == nil {
		return n
	}
	for _, p := range c.Ports {
		if p.Name == port {
			return p.ContainerPort
		}
	}
	return 0
}

// validateWithEnv runs `otelcol-vigil validate` on config with env (the Pod's environment).
func validateWithEnv(t *testing.T, config string, env map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Binary(t), "validate", "--config="+harness.WriteConfig(t, config))
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "validate with the Pod's environment:\n%s", out)
}
