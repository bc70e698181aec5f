package healthcheckreceiver

import (
	"crypto/tls"

	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/testserver"
)

func secureConfig(cert testserver.Cert) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
}
