// Package harness runs the built otelcol-vigil binary as a real child process for end-to-end and
// load tests: it composes a config from YAML fragments with free loopback ports (Compose), starts
// the collector and waits for its health endpoint (StartReady), sends it OTLP (DialOTLP), receives
// what it exports on an in-test OTLP sink, scrapes its Prometheus endpoints, keeps steady traffic
// going (Repeat), and stops it with SIGTERM, checking for a clean exit.
package harness
