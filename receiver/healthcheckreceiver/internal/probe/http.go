package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"regexp"
	"strings"
	"sync"
	"time"
)

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Min, Max int }

// ParseStatus parses "200", "2xx" or "200-299".
func ParseStatus(s string) (StatusRange, error) {
	s = strings.TrimSpace(s)
	switch {
	case len(s) == 3 && strings.HasSuffix(strings.ToLower(s), "xx") && s[0] >= '1' && s[0] <= '5':
		base := int(s[0]-'0') * 100
		return StatusRange{base, base + 99}, nil
	case strings.Contains(s, "-"):
		lo, hi, _ := strings.Cut(s, "-")
		a, errA := parseCode(lo)
		b, errB := parseCode(hi)
		if errA != nil || errB != nil || a > b {
			return StatusRange{}, fmt.Errorf("invalid status range %q (want e.g. 200-299)", s)
		}
		return StatusRange{a, b}, nil
	default:
		c, err := parseCode(s)
		if err != nil {
			return StatusRange{}, fmt.Errorf("invalid status %q (want a code such as 200, a class such as 2xx, or a range such as 200-299)", s)
		}
		return StatusRange{c, c}, nil
	}
}

func parseCode(s string) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 3 {
		return 0, errors.New("not a status code")
	}
	c := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, errors.New("not a status code")
		}
		c = c*10 + int(r-'0')
	}
	if c < 100 || c > 599 {
		return 0, errors.New("status code out of range")
	}
	return c, nil
}

// HTTP probes an HTTP(S) endpoint and checks the status and, optionally, the body. Headers,
// TLS and proxy are the Client's (built from confighttp.ClientConfig).
type HTTP struct {
	Client         *http.Client // built by the receiver from confighttp.ClientConfig
	URL            string
	Method         string
	Body           string
	ExpectedStatus []StatusRange
	BodyContains   string
	BodyRegex      *regexp.Regexp
	MaxBodyBytes   int64
	PhaseTimings   bool

	bufPool sync.Pool
}

// Probe implements Prober.
func (p *HTTP) Probe(ctx context.Context) Result {
	start := time.Now()
	var tr *phaseTrace
	if p.PhaseTimings {
		tr = &phaseTrace{}
		ctx = httptrace.WithClientTrace(ctx, tr.clientTrace())
	}
	var body io.Reader
	if p.Body != "" {
		body = strings.NewReader(p.Body)
	}
	req, err := http.NewRequestWithContext(ctx, p.Method, p.URL, body)
	if err != nil {
		return failed(start, ErrNetwork, err)
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		res := failed(start, classifyHTTP(ctx, err), err)
		res.Phases = tr.phases()
		return res
	}
	defer resp.Body.Close()

	res := Result{}
	if resp.TLS != nil {
		res.CertNotAfter = earliestExpiry(resp.TLS.PeerCertificates)
	}
	buf := p.getBuf()
	defer p.bufPool.Put(buf)
	_, readErr := buf.ReadFrom(io.LimitReader(resp.Body, p.MaxBodyBytes))
	res.Duration = time.Since(start)
	res.Phases = tr.phases()

	switch {
	case !p.statusOK(resp.StatusCode):
		res.ErrorType, res.Err = ErrStatusCode, fmt.Errorf("status %d not expected", resp.StatusCode)
	case readErr != nil:
		res.ErrorType, res.Err = Classify(ctx, readErr), readErr
		if res.ErrorType == ErrNetwork {
			res.ErrorType = ErrBodyRead
		}
	case p.BodyContains != "" && !bytes.Contains(buf.Bytes(), []byte(p.BodyContains)):
		res.ErrorType, res.Err = ErrBodyMismatch, errors.New("body does not contain the expected text")
	case p.BodyRegex != nil && !p.BodyRegex.Match(buf.Bytes()):
		res.ErrorType, res.Err = ErrBodyMismatch, errors.New("body does not match the expected pattern")
	}
	return res
}

func (p *HTTP) getBuf() *bytes.Buffer {
	if b, ok := p.bufPool.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return &bytes.Buffer{}
}

func (p *HTTP) statusOK(code int) bool {
	for _, r := range p.ExpectedStatus {
		if code >= r.Min && code <= r.Max {
			return true
		}
	}
	return false
}

// Close implements Prober.
func (p *HTTP) Close() error {
	p.Client.CloseIdleConnections()
	return nil
}

// ErrTooManyRedirects is returned by a client's CheckRedirect when a redirect chain is too long.
var ErrTooManyRedirects = errors.New("too many redirects")

func classifyHTTP(ctx context.Context, err error) string {
	if errors.Is(err, ErrTooManyRedirects) || errors.Is(err, ErrCrossOriginRedirect) {
		return ErrRedirect
	}
	t := Classify(ctx, err)
	if t == ErrNetwork {
		var recordErr tls.RecordHeaderError
		if errors.As(err, &recordErr) {
			return ErrTLS
		}
	}
	return t
}

// phaseTrace records the start and end of each phase of one HTTP request.
type phaseTrace struct {
	mu                                         sync.Mutex
	dnsStart, connStart, tlsStart, wroteReq    time.Time
	dns, connect, tlsHandshake, firstByte      time.Duration
	dnsDone, connectDone, tlsDone, gotResponse bool
}

func (t *phaseTrace) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { t.mu.Lock(); t.dnsStart = time.Now(); t.mu.Unlock() },
		DNSDone: func(httptrace.DNSDoneInfo) {
			t.mu.Lock()
			t.dns, t.dnsDone = time.Since(t.dnsStart), true
			t.mu.Unlock()
		},
		ConnectStart: func(string, string) { t.mu.Lock(); t.connStart = time.Now(); t.mu.Unlock() },
		ConnectDone: func(_, _ string, err error) {
			t.mu.Lock()
			if err == nil {
				t.connect, t.connectDone = time.Since(t.connStart), true
			}
			t.mu.Unlock()
		},
		TLSHandshakeStart: func() { t.mu.Lock(); t.tlsStart = time.Now(); t.mu.Unlock() },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			t.mu.Lock()
			if err == nil {
				t.tlsHandshake, t.tlsDone = time.Since(t.tlsStart), true
			}
			t.mu.Unlock()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) { t.mu.Lock(); t.wroteReq = time.Now(); t.mu.Unlock() },
		GotFirstResponseByte: func() {
			t.mu.Lock()
			t.firstByte, t.gotResponse = time.Since(t.wroteReq), true
			t.mu.Unlock()
		},
	}
}

// phases returns the phases that completed; nil for a nil trace.
func (t *phaseTrace) phases() map[string]time.Duration {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]time.Duration, 4)
	if t.dnsDone {
		out[PhaseDNS] = t.dns
	}
	if t.connectDone {
		out[PhaseConnect] = t.connect
	}
	if t.tlsDone {
		out[PhaseTLS] = t.tlsHandshake
	}
	if t.gotResponse {
		out[PhaseFirstByte] = t.firstByte
	}
	return out
}
