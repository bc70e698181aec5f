package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/vigil-collector/vigil/testbed/internal/loopback"
	"github.com/vigil-collector/vigil/testbed/internal/process"
)

// BinaryEnv names the environment variable that overrides the path of the binary under test.
const BinaryEnv = "VIGIL_BINARY"

// StopTimeout bounds how long a collector may take to exit after SIGTERM.
const StopTimeout = 20 * time.Second

// RepoRoot returns the repository root, found from this source file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binary returns the path of the otelcol-vigil binary under test: $VIGIL_BINARY, else the one
// `make build` writes. It fails the test when the binary is missing.
func Binary(tb testing.TB) string {
	tb.Helper()
	bin := os.Getenv(BinaryEnv)
	if bin == "" {
		bin = filepath.Join(RepoRoot(), "_build", "otelcol-vigil")
	}
	if _, err := os.Stat(bin); err != nil {
		tb.Fatalf("collector binary %s not found (run `make build`, or set %s): %v", bin, BinaryEnv, err)
	}
	return bin
}

// FreePort returns a TCP port on 127.0.0.1 that was free when asked (loopback.FreePort: below
// the ephemeral range, never handed out twice), failing the test when there is none.
func FreePort(tb testing.TB) int {
	tb.Helper()
	p, err := loopback.FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Render executes a text/template config with data, failing the test on a template error.
func Render(tb testing.TB, tmpl string, data any) string {
	tb.Helper()
	t, err := template.New("config").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		tb.Fatalf("config template: %v", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		tb.Fatalf("config template: %v", err)
	}
	return b.String()
}

// WriteConfig writes a config into the test's temporary folder and returns its path.
func WriteConfig(tb testing.TB, config string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		tb.Fatalf("write config: %v", err)
	}
	return path
}

// Result is the outcome of a command run to completion.
type Result struct {
	ExitCode int
	Output   string // stdout and stderr, interleaved
}

// Run runs the binary with args until it exits or timeout passes (then it is killed and the
// test fails).
func Run(tb testing.TB, timeout time.Duration, args ...string) Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(tb), args...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		tb.Fatalf("%s %s did not exit within %s; output:\n%s", filepath.Base(cmd.Path), strings.Join(args, " "), timeout, out)
	}
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		tb.Fatalf("run %s: %v", cmd.Path, err)
	}
	return Result{ExitCode: code, Output: string(out)}
}

// Collector is a running otelcol-vigil child process.
type Collector struct {
	p       *process.Process
	stopped bool
}

// Start starts the binary on config (YAML text) and registers a cleanup that stops it with SIGTERM
// and fails the test unless it exits cleanly. Call WaitReady before sending data.
func Start(tb testing.TB, config string) *Collector {
	tb.Helper()
	return StartEnv(tb, nil, "--config="+WriteConfig(tb, config))
}

// ReadyTimeout bounds how long a collector may take to answer on its health endpoint.
const ReadyTimeout = 30 * time.Second

// HealthURL is the status path of a healthcheckv2 extension listening on 127.0.0.1:port.
func HealthURL(port int) string {
	return fmt.Sprintf("http://127.0.0.1:%d/health/status", port)
}

// StartReady starts the binary on config as Start does and waits until the health endpoint on
// healthPort (HealthURL) answers.
func StartReady(tb testing.TB, config string, healthPort int) *Collector {
	tb.Helper()
	c := Start(tb, config)
	c.WaitReady(tb, HealthURL(healthPort), ReadyTimeout)
	return c
}

// StartEnv starts the binary with args and env (KEY=VALUE, added to this process's environment),
// as Start does: a shipped config file is run as it ships, with its documented environment.
func StartEnv(tb testing.TB, env []string, args ...string) *Collector {
	tb.Helper()
	p, err := process.Start(Binary(tb), args, env, 0)
	if err != nil {
		tb.Fatalf("collector: %v", err)
	}
	c := &Collector{p: p}
	tb.Cleanup(func() {
		if !c.stopped {
			if code := c.Stop(tb); code != 0 {
				tb.Errorf("collector exited with code %d after SIGTERM; logs:\n%s", code, c.Logs())
				return
			}
		}
		if tb.Failed() {
			tb.Logf("collector logs:\n%s", c.Logs())
		}
	})
	return c
}

// Logs returns everything the collector has written so far.
func (c *Collector) Logs() string { return c.p.Logs() }

// Exited reports whether the process has ended.
func (c *Collector) Exited() bool { return c.p.Exited() }

// PID is the collector's process id.
func (c *Collector) PID() int { return c.p.Pid() }

// WaitReady polls url until it answers 200, failing the test if the collector exits first or
// timeout passes.
func (c *Collector) WaitReady(tb testing.TB, url string, timeout time.Duration) {
	tb.Helper()
	if err := c.p.WaitReady(url, timeout); err != nil {
		tb.Fatalf("collector %v; logs:\n%s", err, c.Logs())
	}
}

// Stop sends SIGTERM and waits up to StopTimeout for the process to exit, returning its exit code.
// A collector that does not exit in time is killed and the test fails.
func (c *Collector) Stop(tb testing.TB) int {
	tb.Helper()
	c.stopped = true
	code, err := c.p.Stop(StopTimeout)
	if err != nil {
		tb.Errorf("collector %v; logs:\n%s", err, c.Logs())
	}
	return code
}

// Kill ends the process with SIGKILL (no chance to flush anything) and waits for it.
func (c *Collector) Kill() {
	c.stopped = true
	c.p.Kill()
}

// Scrape fetches a Prometheus text endpoint and returns its body.
func Scrape(url string) (string, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b.String(), nil
}
