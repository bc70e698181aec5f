package probe

import (
	"io"
	"log"
)

// quietLog silences a test server's handshake-error log lines.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
