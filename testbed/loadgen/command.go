package loadgen

import (
	"flag"
	"fmt"
	"os"

	"github.com/vigil-collector/vigil/testbed/internal/confmerge"
)

// apiBase is the part of the measured collector's config every latency command shares: the status
// extension (Vigil's API) with the breaker extension publishing into it, OTLP/gRPC in, the debug
// exporter, and the collector's own metrics off.
const apiBase = `
extensions:
  status:
    endpoint: 127.0.0.1:%d
  breaker:
    status_extension: status
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:%d}
exporters:
  debug:
service:
  extensions: [status, breaker]
  telemetry:
    metrics:
      level: none
`

// Config is the config of the measured collector: the API on 127.0.0.1:apiPort, OTLP/gRPC on
// 127.0.0.1:otlpPort, and fragments (the pipelines, processors, settings of one command) merged
// onto it as the collector merges several config files (maps key by key, anything else replaced).
func Config(apiPort, otlpPort int, fragments ...string) (string, error) {
	return confmerge.Merge(append([]string{fmt.Sprintf(apiBase, apiPort, otlpPort)}, fragments...)...)
}

// Main is the main function of a latency command called name: it adds -binary and -serve-trivial
// to the flags the command defined, parses them, serves the trivial baseline when asked (as
// StartServers runs the program), and otherwise runs run with the binary's path; an error ends
// the program with status 1.
func Main(name string, run func(binary string) error) {
	serve := flag.String("serve-trivial", "", "internal: serve the trivial handler on this address")
	binary := flag.String("binary", "_build/otelcol-vigil", "the otelcol-vigil binary")
	flag.Parse()
	if *serve != "" {
		fmt.Fprintln(os.Stderr, ServeTrivial(*serve))
		return
	}
	if err := run(*binary); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Measured is the binary under test beside the trivial baseline, as the latency commands run them.
type Measured struct {
	*Servers
	// API is the base URL of the binary's status API (http://127.0.0.1:port); OTLP is the address
	// of its OTLP/gRPC receiver.
	API, OTLP string
}

// StartMeasured starts binary on Config (the API and OTLP on free ports, fragments merged on)
// beside the trivial baseline (StartServers), and waits until readyPath of the API answers 200.
// Stop ends both.
func StartMeasured(binary, readyPath string, fragments ...string) (*Measured, error) {
	ports, err := FreePorts(2)
	if err != nil {
		return nil, err
	}
	config, err := Config(ports[0], ports[1], fragments...)
	if err != nil {
		return nil, err
	}
	servers, err := StartServers(binary, config)
	if err != nil {
		return nil, err
	}
	m := &Measured{Servers: servers, API: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), OTLP: fmt.Sprintf("127.0.0.1:%d", ports[1])}
	if err := WaitReady(m.API + readyPath); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}
