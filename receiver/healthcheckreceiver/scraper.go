package healthcheckreceiver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.uber.org/zap"

	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/metadata"
	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/probe"
)

// The metrics the receiver emits (the contract in DESIGN.md) and their attributes.
const (
	metricStatus        = "healthcheck.status"
	metricDuration      = "healthcheck.duration"
	metricError         = "healthcheck.error"
	metricCertRemaining = "healthcheck.tls.cert.remaining"
	metricPhaseDuration = "healthcheck.http.phase.duration"

	attrTarget    = "healthcheck.target"
	attrType      = "healthcheck.type"
	attrErrorType = "error.type"
	attrPhase     = "healthcheck.http.phase"
	attrService   = "service.name"
)

// Defaults of per-target settings.
const (
	defaultThreshold    = 1
	defaultMaxBodyBytes = 64 << 10
	defaultMethod       = http.MethodGet
	maxRedirects        = 10
)

var defaultExpectedStatus = []string{"2xx"}

// healthScraper owns the targets, their probe loops, and turns their state into metrics.
type healthScraper struct {
	cfg       *Config
	settings  receiver.Settings
	telemetry *metadata.TelemetryBuilder
	targets   []*target
	sched     scheduler
	startTime pcommon.Timestamp
	// services lists service names in config order, each with its targets, so output is stable.
	services []serviceTargets
}

type serviceTargets struct {
	name    string
	targets []*target
}

func newScraper(cfg *Config, settings receiver.Settings) (*healthScraper, error) {
	tb, err := metadata.NewTelemetryBuilder(settings.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	return &healthScraper{cfg: cfg, settings: settings, telemetry: tb, sched: scheduler{telemetry: tb}}, nil
}

// start builds every target's prober and starts probing. A target whose client cannot be built
// (a TLS file that went missing or holds no certificate, an unknown auth extension) fails only
// itself: it is logged, and reported down with error.type "config" on every probe, while the
// other targets run.
func (s *healthScraper) start(ctx context.Context, host component.Host) error {
	if err := s.build(ctx, host); err != nil {
		return err
	}
	s.sched.start(s.targets, s.cfg.InitialDelay)
	return nil
}

// build creates the targets and their probers, with every per-target default resolved.
func (s *healthScraper) build(ctx context.Context, host component.Host) error {
	s.startTime = pcommon.NewTimestampFromTime(time.Now())
	byService := map[string]int{}
	for i := range s.cfg.Targets {
		tc := &s.cfg.Targets[i]
		p, err := s.newProber(ctx, host, tc)
		if err != nil {
			err = fmt.Errorf("targets::%d: target %q: %w", i, tc.Name, err)
			s.settings.Logger.Error("healthcheck: the target cannot be probed; it is reported down (error.type config) until the configuration is fixed", zap.Error(err))
			p = probe.Broken{Err: err}
		}
		t := &target{
			name: tc.Name, service: tc.Service, typ: tc.Type,
			interval: tc.Interval, timeout: tc.Timeout,
			failureThreshold: tc.FailureThreshold, successThreshold: tc.SuccessThreshold,
			prober: p,
		}
		if t.service == "" {
			t.service = t.name
		}
		if t.interval == 0 {
			t.interval = s.cfg.CollectionInterval
		}
		if t.timeout == 0 {
			t.timeout = s.cfg.Timeout
		}
		if t.failureThreshold == 0 {
			t.failureThreshold = defaultThreshold
		}
		if t.successThreshold == 0 {
			t.successThreshold = defaultThreshold
		}
		s.targets = append(s.targets, t)
		s.group(t, byService)
	}
	return nil
}

// group adds t to its service's targets, byService holding each service's index in s.services.
func (s *healthScraper) group(t *target, byService map[string]int) {
	idx, ok := byService[t.service]
	if !ok {
		idx = len(s.services)
		byService[t.service] = idx
		s.services = append(s.services, serviceTargets{name: t.service})
	}
	s.services[idx].targets = append(s.services[idx].targets, t)
}

func (s *healthScraper) shutdown(context.Context) error {
	s.sched.stop()
	return s.closeProbers()
}

func (s *healthScraper) closeProbers() error {
	var errs []error
	for _, t := range s.targets {
		errs = append(errs, t.prober.Close())
	}
	s.targets = nil
	return errors.Join(errs...)
}

func (s *healthScraper) newProber(ctx context.Context, host component.Host, tc *TargetConfig) (probe.Prober, error) {
	tlsCfg := tc.TLS.Get()
	switch tc.Type {
	case TypeTCP, TypeGRPC:
		conf, err := loadTLS(ctx, tlsCfg, tc.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		if tc.Type == TypeTCP {
			return &probe.TCP{Endpoint: tc.Endpoint, TLSConfig: conf}, nil
		}
		return &probe.GRPC{Endpoint: tc.Endpoint, Service: tc.GRPC.Service, TLSConfig: conf}, nil
	case TypeHTTP:
		return s.newHTTPProber(ctx, host, tc)
	default:
		return nil, fmt.Errorf("type %q", tc.Type)
	}
}

func (s *healthScraper) newHTTPProber(ctx context.Context, host component.Host, tc *TargetConfig) (*probe.HTTP, error) {
	h := &tc.HTTP
	cc := confighttp.ClientConfig{Endpoint: tc.Endpoint, ProxyURL: h.ProxyURL, Headers: h.Headers}
	if tlsCfg := tc.TLS.Get(); tlsCfg != nil {
		cc.TLS = *tlsCfg
	}
	// No tracer: probe requests carry no trace context to the probed service and make no spans.
	telemetry := s.settings.TelemetrySettings
	telemetry.TracerProvider = nil
	client, err := cc.ToClient(ctx, host.GetExtensions(), telemetry)
	if err != nil {
		return nil, err
	}
	// Redirects are off unless asked for, and then only within the target's origin: the client
	// adds the configured headers to every request it makes, so a redirect elsewhere would hand
	// them (and a probe) to an address that is not in the config.
	follow := h.FollowRedirects != nil && *h.FollowRedirects
	client.CheckRedirect = probe.RedirectPolicy(tc.Endpoint, follow, maxRedirects)
	p := &probe.HTTP{
		Client: client, URL: tc.Endpoint, Method: h.Method, Body: h.Body,
		BodyContains: h.BodyContains, MaxBodyBytes: h.MaxBodyBytes, PhaseTimings: h.PhaseTimings,
	}
	if p.Method == "" {
		p.Method = defaultMethod
	}
	if p.MaxBodyBytes == 0 {
		p.MaxBodyBytes = defaultMaxBodyBytes
	}
	statuses := h.ExpectedStatus
	if len(statuses) == 0 {
		statuses = defaultExpectedStatus
	}
	for _, st := range statuses {
		r, err := probe.ParseStatus(st)
		if err != nil {
			return nil, err
		}
		p.ExpectedStatus = append(p.ExpectedStatus, r)
	}
	if h.BodyRegex != "" {
		re, err := regexp.Compile(h.BodyRegex)
		if err != nil {
			return nil, err
		}
		p.BodyRegex = re
	}
	return p, nil
}

// loadTLS builds the TLS config of a tcp or grpc target; nil (plaintext) when the target has no
// tls section or sets insecure.
func loadTLS(ctx context.Context, c *configtls.ClientConfig, endpoint string) (*tls.Config, error) {
	if c == nil {
		return nil, nil
	}
	conf, err := c.LoadTLSConfig(ctx)
	if err != nil || conf == nil {
		return nil, err
	}
	if conf.ServerName == "" {
		if host, _, err := net.SplitHostPort(endpoint); err == nil {
			conf.ServerName = host
		}
	}
	return conf, nil
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// scrape turns every target's latest state into metrics. It never waits on a probe.
func (s *healthScraper) scrape(context.Context) (pmetric.Metrics, error) {
	md := pmetric.NewMetrics()
	now := time.Now()
	ts := pcommon.NewTimestampFromTime(now)
	for _, svc := range s.services {
		var out serviceMetrics
		for _, t := range svc.targets {
			st := t.snapshot()
			if !st.known {
				continue // not probed yet: unknown, never reported as up or down
			}
			if out.sm == (pmetric.ScopeMetrics{}) {
				rm := md.ResourceMetrics().AppendEmpty()
				rm.Resource().Attributes().PutStr(attrService, svc.name)
				out.sm = rm.ScopeMetrics().AppendEmpty()
				out.sm.Scope().SetName(metadata.ScopeName)
				out.sm.Scope().SetVersion(s.settings.BuildInfo.Version)
			}
			out.add(t, st, ts, s.startTime, now)
		}
	}
	return md, nil
}

// serviceMetrics creates each metric of one service's scope on first use.
type serviceMetrics struct {
	sm                                     pmetric.ScopeMetrics
	status, duration, errs, cert, phase    pmetric.Metric
	hasStatus, hasDur, hasErr, hasCert, hp bool
}

func (o *serviceMetrics) metric(m *pmetric.Metric, has *bool, name, desc, unit string) pmetric.Metric {
	if !*has {
		*m = o.sm.Metrics().AppendEmpty()
		m.SetName(name)
		m.SetDescription(desc)
		m.SetUnit(unit)
		*has = true
	}
	return *m
}

func (o *serviceMetrics) gauge(m *pmetric.Metric, has *bool, name, desc, unit string) pmetric.NumberDataPoint {
	mm := o.metric(m, has, name, desc, unit)
	if mm.Type() == pmetric.MetricTypeEmpty {
		mm.SetEmptyGauge()
	}
	return mm.Gauge().DataPoints().AppendEmpty()
}

func putTargetAttrs(dp pmetric.NumberDataPoint, t *target) {
	dp.Attributes().PutStr(attrTarget, t.name)
	dp.Attributes().PutStr(attrType, t.typ)
}

func (o *serviceMetrics) add(t *target, st targetState, ts, start pcommon.Timestamp, now time.Time) {
	dp := o.gauge(&o.status, &o.hasStatus, metricStatus, "Whether the target passes its health check (1) or not (0), after thresholds.", "{status}")
	dp.SetTimestamp(ts)
	dp.SetIntValue(0)
	if st.up {
		dp.SetIntValue(1)
	}
	putTargetAttrs(dp, t)

	dp = o.gauge(&o.duration, &o.hasDur, metricDuration, "Duration of the target's latest probe.", "s")
	dp.SetTimestamp(ts)
	dp.SetDoubleValue(st.last.Duration.Seconds())
	putTargetAttrs(dp, t)

	if len(st.errorCounts) > 0 {
		m := o.metric(&o.errs, &o.hasErr, metricError, "Failed probes of the target, by error.type.", "{error}")
		if m.Type() == pmetric.MetricTypeEmpty {
			sum := m.SetEmptySum()
			sum.SetIsMonotonic(true)
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		}
		for _, errType := range sortedKeys(st.errorCounts) {
			dp := m.Sum().DataPoints().AppendEmpty()
			dp.SetStartTimestamp(start)
			dp.SetTimestamp(ts)
			dp.SetIntValue(st.errorCounts[errType])
			putTargetAttrs(dp, t)
			dp.Attributes().PutStr(attrErrorType, errType)
		}
	}

	if !st.last.CertNotAfter.IsZero() {
		dp := o.gauge(&o.cert, &o.hasCert, metricCertRemaining, "Time until the earliest expiry in the certificate chain the target presented.", "s")
		dp.SetTimestamp(ts)
		dp.SetDoubleValue(st.last.CertNotAfter.Sub(now).Seconds())
		putTargetAttrs(dp, t)
	}

	for _, phase := range []string{probe.PhaseDNS, probe.PhaseConnect, probe.PhaseTLS, probe.PhaseFirstByte} {
		d, ok := st.last.Phases[phase]
		if !ok {
			continue
		}
		dp := o.gauge(&o.phase, &o.hp, metricPhaseDuration, "Duration of each phase of the target's latest HTTP probe.", "s")
		dp.SetTimestamp(ts)
		dp.SetDoubleValue(d.Seconds())
		putTargetAttrs(dp, t)
		dp.Attributes().PutStr(attrPhase, phase)
	}
}
