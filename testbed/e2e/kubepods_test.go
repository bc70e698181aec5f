package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/vigil-collector/vigil/testbed/harness"
	traffic "github.com/vigil-collector/vigil/testbed/shop"
)

// pod is what a test gives a rendered workload that the cluster would: the files of its Secrets,
// the host folders of its hostPath volumes, the downward API's values.
type pod struct {
	secrets   map[string]map[string]string // Secret name -> file -> content
	hostPaths map[string]string            // hostPath path -> folder on this machine
	env       map[string]string            // values of the env entries that come from the downward API
}

// runWorkload starts a rendered workload's collector container with podman as a kubelet would:
// the image built here, its args and env, its user, group and fsGroup, a read-only root
// filesystem (and no tmpfs podman would add), no capabilities, no privilege escalation, and its
// volumes: ConfigMaps and Secrets as read-only folders of files, emptyDir as an empty folder
// (0777, as the kubelet makes it), hostPath as the folder p names. Ports are published on loopback.
func runWorkload(t *testing.T, o k8sObject, configMaps map[string]map[string]string, p pod, tag string, flags []string, ports map[int]int) string {
	t.Helper()
	spec := o.Spec.Template.Spec
	c := spec.Containers[0]
	args := append([]string{}, flags...)
	sc := c.SecurityContext
	args = append(args, "--user", fmt.Sprintf("%d:%d", *sc.RunAsUser, *sc.RunAsGroup),
		"--cap-drop=all", "--security-opt=no-new-privileges", "--read-only-tmpfs=false")
	if sc.ReadOnlyRootFilesystem {
		args = append(args, "--read-only")
	}
	if spec.SecurityContext.FSGroup != nil {
		args = append(args, "--group-add", fmt.Sprint(*spec.SecurityContext.FSGroup))
	}
	env := map[string]string{}
	for _, e := range c.Env {
		v := e.Value
		if v == "" {
			v = p.env[e.Name]
			require.NotEmpty(t, v, "%s: a value for %s (downward API)", o.Metadata.Name, e.Name)
		}
		v = envRef.ReplaceAllStringFunc(v, func(ref string) string { return env[envRef.FindStringSubmatch(ref)[1]] })
		env[e.Name] = v
		args = append(args, "-e", e.Name+"="+v)
	}
	for _, m := range c.VolumeMounts {
		var host string
		for _, v := range spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			switch {
			case v.ConfigMap != nil:
				host = writeFiles(t, configMaps[v.ConfigMap.Name], nil)
			case v.Secret != nil:
				files := p.secrets[v.Secret.SecretName]
				require.NotNil(t, files, "Secret %s", v.Secret.SecretName)
				host = writeFiles(t, files, v.Secret.Items)
			case v.EmptyDir != nil:
				host = t.TempDir()
				require.NoError(t, os.Chmod(host, 0o777))
			case v.HostPath != nil:
				host = p.hostPaths[v.HostPath.Path]
				require.NotEmpty(t, host, "hostPath %s", v.HostPath.Path)
			}
		}
		require.NotEmpty(t, host, "volume %s", m.Name)
		opt := "rw"
		if m.ReadOnly {
			opt = "ro"
		}
		args = append(args, "-v", host+":"+m.MountPath+":"+opt)
	}
	return startContainer(t, tag, ports, args, c.Args...)
}

// writeFiles writes a ConfigMap's or Secret's files (only items, when given) into a new folder.
func writeFiles(t *testing.T, files map[string]string, items []struct{ Key, Path string }) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	if len(items) == 0 {
		for name, content := range files {
			write(name, content)
		}
	}
	for _, it := range items {
		content, ok := files[it.Key]
		require.True(t, ok, "key %s", it.Key)
		write(it.Path, content)
	}
	return dir
}

// TestKubernetesWorkloadsStart runs the rendered gateway Deployment's and agent DaemonSet's
// containers with podman as the kubelet would (see runWorkload): the gateway serves its probes'
// path on the probe port, OTLP with TLS from the vigil-gateway-tls Secret (checked against its CA
// under the Service's DNS name) and its breaker API behind the token, and writes its audit file in
// the emptyDir; the agent, after its init container's command has handed the root-owned hostPath
// to its user, starts and keeps its queue there.
func TestKubernetesWorkloadsStart(t *testing.T) {
	flags := podman(t)
	objs := renderKustomization(t)
	configMaps := map[string]map[string]string{}
	var gateway, agent k8sObject
	for _, o := range objs {
		switch o.Kind {
		case "ConfigMap":
			configMaps[o.Metadata.Name] = o.Data
		case "Deployment":
			gateway = o
		case "DaemonSet":
			agent = o
		}
	}
	tag := buildImage(t)
	tlsf := harness.NewTLS(t, "vigil-gateway.vigil.svc")
	read := func(path string) string {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return string(b)
	}
	const token = "k8s-breaker-token"
	p := pod{
		secrets: map[string]map[string]string{
			"vigil-gateway-tls":   {"ca.crt": read(tlsf.CA), "tls.crt": read(tlsf.Cert), "tls.key": read(tlsf.Key)},
			"vigil-breaker-token": {"breaker-token": token},
		},
		env: map[string]string{"POD_IP": "0.0.0.0", "VIGIL_HOST_NAME": "node-1"},
	}

	t.Run("gateway", func(t *testing.T) {
		ports := map[int]int{4317: harness.FreePort(t), 13133: harness.FreePort(t), 13180: harness.FreePort(t), 8889: harness.FreePort(t)}
		name := runWorkload(t, gateway, configMaps, p, tag, flags, ports)
		probe := fmt.Sprintf("http://127.0.0.1:%d/health/status", ports[13133])
		require.Eventually(t, func() bool {
			resp, err := http.Get(probe)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, 60*time.Second, 250*time.Millisecond, "the probes' endpoint")

		pool := x509.NewCertPool()
		require.True(t, pool.AppendCertsFromPEM([]byte(read(tlsf.CA))))
		conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", ports[4317]),
			grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "vigil-gateway.vigil.svc", MinVersion: tls.VersionTLS12})))
		require.NoError(t, err)
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(traffic.New(traffic.DefaultEdges).Batch(time.Now())))
		require.NoError(t, err, "OTLP over TLS, as an agent sends it")

		api := breakerAPI{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", ports[13180])}
		code, _, raw := api.do(http.MethodGet, "/v1/breakers/payments?peek=true", "", token)
		assert.Equal(t, http.StatusOK, code, raw)
		code, _, _ = api.do(http.MethodGet, "/v1/breakers/payments?peek=true", "", "")
		assert.Equal(t, http.StatusUnauthorized, code, "without the token")

		run(t, "podman", "stop", "-t", "20", name)
		assert.Equal(t, "0", run(t, "podman", "inspect", "--format", "{{.State.ExitCode}}", name))
	})

	t.Run("agent", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("the hostPath is made root-owned, as the kubelet makes it")
		}
		queue := filepath.Join(t.TempDir(), "queue")
		require.NoError(t, os.Mkdir(queue, 0o755)) // DirectoryOrCreate: root-owned, 0755
		queuePath := ""
		for _, v := range agent.Spec.Template.Spec.Volumes {
			if v.HostPath != nil && v.HostPath.Path != "/" {
				queuePath = v.HostPath.Path
			}
		}
		// The init container's command, on this machine's folder (its image is not to be had here).
		for _, ic := range agent.Spec.Template.Spec.InitContainers {
			script := ic.Command[len(ic.Command)-1]
			for _, m := range ic.VolumeMounts {
				script = strings.ReplaceAll(script, m.MountPath, queue)
			}
			out, err := exec.Command("sh", "-c", script).CombinedOutput()
			require.NoError(t, err, "init container %s: %s", ic.Name, out)
		}
		p.hostPaths = map[string]string{"/": "/", queuePath: queue}
		ports := map[int]int{13133: harness.FreePort(t), 13180: harness.FreePort(t)}
		name := runWorkload(t, agent, configMaps, p, tag, flags, ports)
		require.Eventually(t, func() bool {
			body, err := harness.Scrape(fmt.Sprintf("http://127.0.0.1:%d/health/status", ports[13133]))
			return err == nil && strings.Contains(body, `"healthy":true`)
		}, 60*time.Second, 250*time.Millisecond, "the probes' endpoint")
		code, _, raw := breakerAPI{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", ports[13180])}.do(http.MethodGet, "/v1/breakers", "", token)
		assert.Equal(t, http.StatusOK, code, raw)
		entries, err := os.ReadDir(queue)
		require.NoError(t, err)
		require.NotEmpty(t, entries, "the agent's queue files in the hostPath")
		for _, e := range entries {
			fi, err := e.Info()
			require.NoError(t, err)
			assert.Equal(t, uint32(*agent.Spec.Template.Spec.Containers[0].SecurityContext.RunAsUser), fi.Sys().(*syscall.Stat_t).Uid, e.Name())
		}
		run(t, "podman", "stop", "-t", "20", name)
		assert.Equal(t, "0", run(t, "podman", "inspect", "--format", "{{.State.ExitCode}}", name))
	})
}
