package probe

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// ErrCrossOriginRedirect is returned by RedirectPolicy when a target redirects to another
// scheme, host or port: the probe would otherwise reach an address that is not in the config
// and carry the target's configured headers (an Authorization, say) to it.
var ErrCrossOriginRedirect = errors.New("redirect to another origin refused")

// RedirectPolicy returns an http.Client CheckRedirect: with follow false no redirect is followed
// (the 3xx answer is the probe's result); with follow true, redirects within the endpoint's
// origin are followed up to max hops and any other is refused with ErrCrossOriginRedirect.
func RedirectPolicy(endpoint string, follow bool, max int) func(*http.Request, []*http.Request) error {
	origin := originOf(endpoint)
	return func(req *http.Request, via []*http.Request) error {
		if !follow {
			return http.ErrUseLastResponse
		}
		if got := originOf(req.URL.String()); got != origin {
			return fmt.Errorf("%w: %s", ErrCrossOriginRedirect, got)
		}
		if len(via) >= max {
			return ErrTooManyRedirects
		}
		return nil
	}
}

// originOf is scheme://host:port with the default port made explicit, lower case.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
