package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShortOutage is the short form of the scenario (make test): a 10 s outage at 200 calls/s
// against the built collector. It checks what must hold whatever the machine's speed: every
// way of deciding runs, the client library opens during the outage and lets calls through
// again after it, and the table is printed.
func TestShortOutage(t *testing.T) {
	bin := os.Getenv("VIGIL_BINARY")
	if bin == "" {
		bin = filepath.Join("..", "..", "..", "_build", "otelcol-vigil")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("collector binary %s not found (run `make build`, or set VIGIL_BINARY): %v", bin, err)
	}
	o := options{binary: bin, root: filepath.Join("..", "..", ".."), rates: []int{200}, groups: [][]string{{"outage"}},
		healthy: 10 * time.Second, outage: 10 * time.Second, recovered: 10 * time.Second}
	var out strings.Builder
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	var clientRow string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "| "+kindClient+" |") {
			clientRow = line
		}
	}
	cells := strings.Split(clientRow, "|")
	if len(cells) < 10 {
		t.Fatalf("no client row in the table:\n%s", out.String())
	}
	if open := strings.TrimSpace(cells[4]); open == "never" {
		t.Errorf("the client library never opened during the outage: %s", clientRow)
	}
	if first := strings.TrimSpace(cells[6]); first == "-" {
		t.Errorf("the client library let no call through after the recovery: %s", clientRow)
	}
}
