package harness

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// LoopbackAddr returns an address of 127.0.0.0/8 other than 127.0.0.1, not handed out before, on
// which a listener can be opened: each collector of a multi-node test gets its own, as hosts do,
// and keeps the shipped default ports.
func LoopbackAddr(tb testing.TB) string {
	tb.Helper()
	addrsMu.Lock()
	defer addrsMu.Unlock()
	for range 1000 {
		ip := fmt.Sprintf("127.%d.%d.%d", 10+mrand.IntN(240), mrand.IntN(256), 2+mrand.IntN(250))
		if addrsGiven[ip] {
			continue
		}
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			continue
		}
		l.Close()
		addrsGiven[ip] = true
		return ip
	}
	tb.Fatal("no usable loopback address")
	return ""
}

var (
	addrsMu    sync.Mutex
	addrsGiven = map[string]bool{}
)

// TLSFiles are the PEM files of a test certificate authority and a server certificate it signed.
type TLSFiles struct {
	CA, Cert, Key string
}

// NewTLS makes a CA and a server certificate for hosts (IP addresses or DNS names), valid for an
// hour, written into the test's temporary folder.
func NewTLS(tb testing.TB, hosts ...string) TLSFiles {
	tb.Helper()
	check := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("tls: %v", err)
		}
	}
	dir := tb.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(err)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test CA"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	check(err)
	ca, err := x509.ParseCertificate(caDER)
	check(err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	check(err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	check(err)
	f := TLSFiles{CA: filepath.Join(dir, "ca.crt"), Cert: filepath.Join(dir, "tls.crt"), Key: filepath.Join(dir, "tls.key")}
	for path, block := range map[string]*pem.Block{
		f.CA: {Type: "CERTIFICATE", Bytes: caDER}, f.Cert: {Type: "CERTIFICATE", Bytes: der},
		f.Key: {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		check(os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	}
	return f
}

// ProcessUsage returns the CPU time (user + system) and resident memory of a running process, read
// from /proc (Linux).
func ProcessUsage(pid int) (cpu time.Duration, rssBytes int64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name (which may hold spaces) start after the last ')'.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 22 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	rss, err3 := strconv.ParseInt(fields[21], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	// USER_HZ is 100 on Linux; pages are 4 KiB on the machines this runs on.
	return time.Duration(utime+stime) * 10 * time.Millisecond, rss * int64(os.Getpagesize()), nil
}
