package hostile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-collector/vigil/testbed/internal/process"
)

// Collector is an otelcol-vigil child process started by this package (see StartCollector).
type Collector struct{ *process.Process }

// keepLogs bounds the logs kept of a collector: one under attack may log a lot.
const keepLogs = 4 << 20

// StartCollector starts binary on the config file with the extra environment.
func StartCollector(binary, configPath string, env []string) (*Collector, error) {
	p, err := process.Start(binary, []string{"--config=" + configPath}, env, keepLogs)
	if err != nil {
		return nil, err
	}
	return &Collector{p}, nil
}

// WaitReady polls url until it answers 200; the error of a collector that exits first or is not
// ready within timeout holds its logs.
func (c *Collector) WaitReady(url string, timeout time.Duration) error {
	if err := c.Process.WaitReady(url, timeout); err != nil {
		return fmt.Errorf("collector %w; logs:\n%s", err, c.Logs())
	}
	return nil
}

// RSS returns the resident set size of pid in bytes (VmRSS of /proc/pid/status).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("VmRSS not found")
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
