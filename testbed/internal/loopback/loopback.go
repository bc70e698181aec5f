// Package loopback holds what the testbed's tools and tests share about loopback ports.
package loopback

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// FreePort returns a TCP port on 127.0.0.1 that was free when asked. Ports come from below the
// kernel's ephemeral range (32768 and up), so an outgoing connection's source port never takes a
// port handed out here before the collector binds it, and no port is handed out twice by this
// process.
func FreePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if portsGiven[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		portsGiven[p] = true
		return p, nil
	}
	return 0, errors.New("no free port between 20000 and 32000")
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)
