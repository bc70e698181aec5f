// Package loopback holds what the testbed's load tools share about loopback ports.
package loopback

import "net"

// FreePort returns a TCP port on 127.0.0.1 that was free when asked (the kernel's choice).
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
