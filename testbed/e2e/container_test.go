package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/testbed/harness"
	traffic "github.com/vigil-collector/vigil/testbed/shop"
)

// image is what deploy/Dockerfile declares about how its container starts.
type image struct {
	uid, gid   int
	workdir    string
	env        []string
	entrypoint []string
	cmd        []string
	volumes    []string
	expose     []int
}

var jsonArray = regexp.MustCompile(`"([^"]*)"`)

// readDockerfile reads the instructions of deploy/Dockerfile that decide how the container starts.
func readDockerfile(t *testing.T) image {
	t.Helper()
	f, err := os.Open(filepath.Join(harness.RepoRoot(), "deploy", "Dockerfile"))
	require.NoError(t, err)
	defer f.Close()
	var img image
	var lines []string
	sc := bufio.NewScanner(f)
	cont := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		lines = append(lines, cont+line)
		cont = ""
	}
	require.NoError(t, sc.Err())
	for _, line := range lines {
		instr, arg, _ := strings.Cut(line, " ")
		arg = strings.TrimSpace(arg)
		array := func() []string {
			var out []string
			for _, m := range jsonArray.FindAllStringSubmatch(arg, -1) {
				out = append(out, m[1])
			}
			return out
		}
		switch strings.ToUpper(instr) {
		case "USER":
			u, g, _ := strings.Cut(arg, ":")
			img.uid, err = strconv.Atoi(u)
			require.NoError(t, err, "USER must be numeric (a scratch image has no user database to look names up in)")
			img.gid = img.uid
			if g != "" {
				img.gid, err = strconv.Atoi(g)
				require.NoError(t, err)
			}
		case "WORKDIR":
			img.workdir = arg
		case "ENV":
			img.env = append(img.env, strings.Fields(arg)...)
		case "ENTRYPOINT":
			img.entrypoint = array()
		case "CMD":
			img.cmd = array()
		case "VOLUME":
			img.volumes = append(img.volumes, array()...)
		case "EXPOSE":
			for _, p := range strings.Fields(arg) {
				n, err := strconv.Atoi(p)
				require.NoError(t, err)
				img.expose = append(img.expose, n)
			}
		}
	}
	return img
}

func (img image) getenv(key string) string {
	for _, kv := range img.env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

// stageImage lays out the image's build context with deploy/image/stage.sh, from the binary under test.
func stageImage(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "image")
	out, err := exec.Command(filepath.Join(harness.RepoRoot(), "deploy", "image", "stage.sh"), dir, harness.Binary(t)).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return dir
}

// TestDockerfileDeclares checks what broke before: a non-root user, every port of the default
// config exposed, listening on all interfaces, a state folder that is a declared volume and the
// working directory.
func TestDockerfileDeclares(t *testing.T) {
	img := readDockerfile(t)
	assert.NotZero(t, img.uid, "USER must not be root")
	assert.Equal(t, "0.0.0.0", img.getenv("VIGIL_LISTEN_HOST"))
	state := img.getenv("VIGIL_STATE_DIR")
	assert.NotEmpty(t, state)
	assert.Contains(t, img.volumes, state, "the state folder is a volume")
	assert.Equal(t, state, img.workdir, "a relative path lands in the state folder, never in the read-only /")
	config, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "otelcol-config.yaml"))
	require.NoError(t, err)
	ports := regexp.MustCompile(`(?m)^\s*(?:endpoint: \$\{env:VIGIL_LISTEN_HOST:-localhost\}:|port: )(\d+)\s*$`).FindAllStringSubmatch(string(config), -1)
	require.GreaterOrEqual(t, len(ports), 7, "the default config's listening ports")
	for _, m := range ports {
		p, _ := strconv.Atoi(m[1])
		assert.Contains(t, img.expose, p, "EXPOSE %d", p)
	}
}

// TestImageStartsAsItsUser starts the binary as the image starts it, without a container runtime:
// chrooted into the image's file tree (deploy/image/stage.sh), as the image's user, in its working
// directory, with its environment and command, in a network namespace of its own (the image's
// fixed ports clash with nothing), with /proc, /sys and /dev bound in as a runtime would. It must keep running and write its state where the volume is.
func TestImageStartsAsItsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (chroot, another uid, a network namespace)")
	}
	img := readDockerfile(t)
	dir := stageImage(t)
	rootfs := filepath.Join(dir, "rootfs")
	// COPY --chown=uid:gid state/ <state folder>
	state := filepath.Join(rootfs, img.getenv("VIGIL_STATE_DIR"))
	require.NoError(t, os.CopyFS(state, os.DirFS(filepath.Join(dir, "state"))))
	require.NoError(t, filepath.Walk(state, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, img.uid, img.gid)
	}))

	// What a container runtime provides: /proc (the memory limiter reads the cgroup limit there),
	// /sys and /dev.
	for _, fs := range []string{"/proc", "/sys", "/dev"} {
		target := filepath.Join(rootfs, fs)
		require.NoError(t, os.MkdirAll(target, 0o755))
		require.NoError(t, syscall.Mount(fs, target, "", syscall.MS_BIND|syscall.MS_REC, ""), "bind %s", fs)
		t.Cleanup(func() { _ = syscall.Unmount(target, syscall.MNT_DETACH) })
	}

	args := append(append([]string{}, img.entrypoint...), img.cmd...)
	cmd := exec.Command(filepath.Join(rootfs, args[0]), args[1:]...)
	cmd.Path = args[0] // resolved inside the chroot
	cmd.Dir = img.workdir
	cmd.Env = img.env
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     rootfs,
		Credential: &syscall.Credential{Uid: uint32(img.uid), Gid: uint32(img.gid)},
		Cloneflags: syscall.CLONE_NEWNET,
	}
	// The output goes to a file, read while the process writes it.
	logFile, err := os.Create(filepath.Join(dir, "output.log"))
	require.NoError(t, err)
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	logs := logReader(logFile.Name())
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	audit := filepath.Join(state, "healing-audit.jsonl")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs(), "Everything is ready") && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("the image's command exited: %v\n%s", err, logs())
		case <-time.After(100 * time.Millisecond):
		}
	}
	select {
	case err := <-done:
		t.Fatalf("the image's command exited: %v\n%s", err, logs())
	case <-time.After(2 * time.Second):
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err, "exit after SIGTERM:\n%s", logs())
	case <-time.After(harness.StopTimeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("no exit within %s of SIGTERM:\n%s", harness.StopTimeout, logs())
	}
	fi, err := os.Stat(audit)
	require.NoError(t, err, "the healing audit file in the state volume\n%s", logs())
	assert.Equal(t, uint32(img.uid), fi.Sys().(*syscall.Stat_t).Uid)
	assert.Contains(t, logs(), "/var/lib/otelcol-vigil/healing-audit.jsonl")
}

// logReader returns a function that reads the file at path (empty while it cannot be read).
func logReader(path string) func() string {
	return func() string {
		b, _ := os.ReadFile(path)
		return string(b)
	}
}

// podman returns the flags that let podman run a container on this machine, or skips.
func podman(t *testing.T) []string {
	t.Helper()
	for _, tool := range []string{"podman", "buildah"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install podman buildah runc); .ci/run installs them", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("podman runs rootful here")
	}
	// runc, where installed, copes with hybrid cgroup hierarchies that crun refuses. The limits are
	// lowered below this process's own: podman's defaults are higher than a sandbox lets it set.
	flags := []string{"--ulimit", "nofile=8192:8192", "--ulimit", "nproc=4096:4096"}
	if _, err := exec.LookPath("runc"); err == nil {
		flags = append([]string{"--runtime", "runc"}, flags...)
	}
	return flags
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

// buildImage builds deploy/Dockerfile with buildah under a fresh tag, removed at the test's end.
func buildImage(t *testing.T) string {
	t.Helper()
	dir := stageImage(t)
	tag := fmt.Sprintf("localhost/otelcol-vigil-e2e:%d", time.Now().UnixNano())
	run(t, "buildah", "bud", "-q", "-f", filepath.Join(harness.RepoRoot(), "deploy", "Dockerfile"), "-t", tag, dir)
	t.Cleanup(func() { _ = exec.Command("podman", "rmi", "-f", tag).Run() })
	return tag
}

// startContainer runs the image detached with args (podman run flags, then the image and its
// arguments after "--"), its ports published on loopback (container port -> host port); the
// container and its anonymous volumes are removed at the test's end, its logs shown on failure.
func startContainer(t *testing.T, tag string, ports map[int]int, args []string, cmd ...string) string {
	t.Helper()
	name := fmt.Sprintf("vigil-e2e-%d", time.Now().UnixNano())
	full := append([]string{"run", "-d", "--name", name}, args...)
	for in, out := range ports {
		full = append(full, "-p", fmt.Sprintf("127.0.0.1:%d:%d", out, in))
	}
	run(t, "podman", append(append(full, tag), cmd...)...)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("podman", "logs", name).CombinedOutput()
			t.Logf("container logs:\n%s", out)
		}
		_ = exec.Command("podman", "rm", "-f", "-v", name).Run()
	})
	return name
}

// TestContainerImage builds deploy/Dockerfile with buildah (from scratch: no registry needed) and
// runs it with podman on its defaults, its ports published on loopback: it is healthy, serves the
// breaker API and host metrics, takes OTLP, runs as its user, and stops cleanly.
func TestContainerImage(t *testing.T) {
	flags := podman(t)
	img := readDockerfile(t)
	tag := buildImage(t)
	ports := map[int]int{4317: harness.FreePort(t), 8889: harness.FreePort(t), 13133: harness.FreePort(t), 13180: harness.FreePort(t)}
	name := startContainer(t, tag, ports, flags)

	url := func(port int, path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", ports[port], path) }
	require.Eventually(t, func() bool {
		body, err := harness.Scrape(url(13133, "/health/status"))
		return err == nil && strings.Contains(body, `"healthy":true`)
	}, 60*time.Second, 250*time.Millisecond, "health endpoint through the published port")
	assert.Equal(t, fmt.Sprintf("%d:%d %s", img.uid, img.gid, img.workdir),
		run(t, "podman", "inspect", "--format", "{{.Config.User}} {{.Config.WorkingDir}}", name))

	sender, err := traffic.Dial(fmt.Sprintf("127.0.0.1:%d", ports[4317]))
	require.NoError(t, err)
	defer sender.Close()
	require.NoError(t, sender.Send(context.Background(), traffic.New(traffic.DefaultEdges).Batch(time.Now())))
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		body, err := harness.Scrape(url(8889, "/metrics"))
		if !assert.NoError(ct, err) {
			return
		}
		assert.NotEmpty(ct, harness.FindSample(body, "system_cpu_utilization_ratio", nil), "host metrics")
		assert.Len(ct, harness.FindSample(body, "health_score", map[string]string{"service_name": "payments"}), 1, "a score from the spans sent")
	}, 60*time.Second, time.Second)
	code, _, raw := breakerAPI{t: t, base: url(13180, "")}.do("GET", "/v1/breakers/payments?peek=true", "", "")
	assert.Equal(t, 200, code, raw)

	run(t, "podman", "stop", "-t", "20", name)
	assert.Equal(t, "0", run(t, "podman", "inspect", "--format", "{{.State.ExitCode}}", name), "exit code after SIGTERM")
	assert.Contains(t, run(t, "podman", "logs", name), "/var/lib/otelcol-vigil/healing-audit.jsonl")
}
