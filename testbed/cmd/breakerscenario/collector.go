package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// collector is the built otelcol-vigil running on the repository's default config, with every
// port moved to a free one.
type collector struct {
	cmd  *exec.Cmd
	done chan struct{}
	logs *lockedBuffer
	// OTLP is the OTLP/gRPC address; API the breaker API's base URL.
	OTLP, API string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePort returns a TCP port on 127.0.0.1 that was free when asked, from below the kernel's
// ephemeral range (32768 and up) so that an outgoing connection's source port never takes it
// before the collector binds it, and never the same one twice. It is the root module's
// testbed/internal/loopback.FreePort, which this module cannot import.
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if portsGiven[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		portsGiven[p] = true
		return p, nil
	}
	return 0, errors.New("no free port between 20000 and 32000")
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

var localPort = regexp.MustCompile(`(?:\$\{env:VIGIL_LISTEN_HOST:-localhost\}|localhost):(\d+)|port: (\d+)`)

// defaultConfig reads the repository's otelcol-config.yaml and moves each of its ports (every
// localhost:PORT or ${env:VIGIL_LISTEN_HOST:-localhost}:PORT, and the telemetry reader's
// port: PORT) to a free loopback port; the same port
// gets the same replacement, so the probe of the health endpoint still finds it.
func defaultConfig(root string) (cfg string, ports map[string]int, err error) {
	raw, err := os.ReadFile(filepath.Join(root, "otelcol-config.yaml"))
	if err != nil {
		return "", nil, err
	}
	ports = map[string]int{}
	var failed error
	cfg = localPort.ReplaceAllStringFunc(string(raw), func(m string) string {
		sub := localPort.FindStringSubmatch(m)
		old := sub[1] + sub[2]
		p, ok := ports[old]
		if !ok {
			if p, err = freePort(); err != nil {
				failed = err
				return m
			}
			ports[old] = p
		}
		if sub[1] != "" {
			return fmt.Sprintf("127.0.0.1:%d", p)
		}
		return fmt.Sprintf("port: %d", p)
	})
	for _, want := range []string{"4317", "13180"} {
		if _, ok := ports[want]; !ok {
			return "", nil, fmt.Errorf("default config: no localhost:%s to move", want)
		}
	}
	return cfg, ports, failed
}

// probe is one health endpoint the collector's healthcheck receiver probes, for service.
type probe struct{ service, url string }

// probeConfig is the healthcheck receiver's configuration probing each health endpoint every
// second (emitted every second, so the breaker hears of each probe), laid over the default
// config's (its target list is replaced).
func probeConfig(probes []probe) string {
	var b strings.Builder
	b.WriteString("receivers:\n  healthcheck:\n    collection_interval: 1s\n    timeout: 500ms\n    targets:\n")
	for _, p := range probes {
		fmt.Fprintf(&b, "      - {name: probe-%s, service: %s, type: http, endpoint: %q}\n", p.service, p.service, p.url)
	}
	if len(probes) == 0 {
		b.Reset()
	}
	return b.String()
}

// startCollector starts binary on the default config, with probes of the given health
// endpoints, in dir and waits until its breaker API answers.
func startCollector(binary, root, dir string, probes []probe) (*collector, error) {
	cfg, ports, err := defaultConfig(root)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	args := []string{"--config=" + path}
	if pc := probeConfig(probes); pc != "" {
		ppath := filepath.Join(dir, "probes.yaml")
		if err := os.WriteFile(ppath, []byte(pc), 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--config="+ppath)
	}
	c := &collector{
		done: make(chan struct{}), logs: &lockedBuffer{},
		OTLP: fmt.Sprintf("127.0.0.1:%d", ports["4317"]),
		API:  fmt.Sprintf("http://127.0.0.1:%d", ports["13180"]),
	}
	c.cmd = exec.Command(binary, args...)
	c.cmd.Env = append(os.Environ(), "VIGIL_STATE_DIR="+filepath.Join(dir, "state"), "VIGIL_HOST_NAME=scenario")
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	for range 600 {
		resp, err := http.Get(c.API + "/v1/breakers")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("collector exited before it was ready; logs:\n%s", c.logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	c.stop()
	return nil, fmt.Errorf("collector not ready within 60 s; logs:\n%s", c.logs.String())
}

// stop ends the collector with SIGTERM (SIGKILL after 20 s) and reports an unclean exit.
func (c *collector) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	select {
	case <-c.done:
	case <-ctx.Done():
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("collector did not stop within 20 s of SIGTERM")
	}
	if c.cmd.ProcessState != nil && !c.cmd.ProcessState.Success() {
		return fmt.Errorf("collector exited with %v", c.cmd.ProcessState)
	}
	return nil
}
