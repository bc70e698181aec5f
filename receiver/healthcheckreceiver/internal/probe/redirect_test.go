package probe

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedirectPolicy(t *testing.T) {
	req := func(raw string) *http.Request {
		u, _ := url.Parse(raw)
		return &http.Request{URL: u}
	}
	follow := RedirectPolicy("http://svc.internal/healthz", true, 2)
	assert.NoError(t, follow(req("http://SVC.internal:80/other"), nil), "same origin, default port explicit")
	assert.ErrorIs(t, follow(req("http://svc.internal:8080/x"), nil), ErrCrossOriginRedirect, "another port")
	assert.ErrorIs(t, follow(req("https://svc.internal/x"), nil), ErrCrossOriginRedirect, "another scheme")
	assert.ErrorIs(t, follow(req("http://169.254.169.254/latest"), nil), ErrCrossOriginRedirect, "another host")
	assert.ErrorIs(t, follow(req("http://svc.internal/x"), make([]*http.Request, 2)), ErrTooManyRedirects)

	off := RedirectPolicy("http://svc.internal/healthz", false, 10)
	assert.True(t, errors.Is(off(req("http://svc.internal/x"), nil), http.ErrUseLastResponse))
}
