package health

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
)

// callAttrs are the attributes of a span (or a RED metric point) that decide its outcome and its
// peer, read in one pass over the attributes.
type callAttrs struct {
	peer          string // service.peer.name or peer.service
	serverAddress string // server.address
	serverPort    int64  // server.port; 0 when absent
	netPeerName   string // net.peer.name (older conventions)
	errorType     string // error.type
	httpStatus    int64  // http.response.status_code or http.status_code; 0 when absent
	rpcCode       int64  // rpc.grpc.status_code or rpc.response.status_code; -1 when absent
}

// read fills a from attrs.
func (a *callAttrs) read(attrs pcommon.Map) {
	a.rpcCode = -1
	attrs.Range(func(k string, v pcommon.Value) bool {
		switch k {
		case "service.peer.name", "peer.service":
			if v.Type() == pcommon.ValueTypeStr && a.peer == "" {
				a.peer = v.Str()
			}
		case "server.address":
			if v.Type() == pcommon.ValueTypeStr {
				a.serverAddress = v.Str()
			}
		case "server.port":
			a.serverPort = intValue(v)
		case "net.peer.name":
			if v.Type() == pcommon.ValueTypeStr {
				a.netPeerName = v.Str()
			}
		case "http.response.status_code", "http.status_code":
			a.httpStatus = intValue(v)
		case "rpc.grpc.status_code":
			a.rpcCode = intValue(v)
		case "rpc.response.status_code":
			if v.Type() == pcommon.ValueTypeStr {
				a.rpcCode = grpcCodeByName(v.Str())
			} else {
				a.rpcCode = intValue(v)
			}
		case "error.type":
			if v.Type() == pcommon.ValueTypeStr {
				a.errorType = v.Str()
			}
		}
		return true
	})
}

// peerName is the callee a CLIENT span names: the declared peer service, else the server
// address (resolved through the aliases SERVER spans taught), else net.peer.name.
func (a *callAttrs) peerName(e *Engine) string {
	switch {
	case a.peer != "":
		return a.peer
	case a.serverAddress != "":
		return e.resolveAlias(a.serverAddress, a.serverPort)
	default:
		return a.netPeerName
	}
}

// classify decides how a call ended, for the callee's health:
//   - a gRPC status decides when present: DEADLINE_EXCEEDED is a timeout; UNKNOWN,
//     RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and DATA_LOSS are errors; OK and
//     the caller's faults (CANCELLED, INVALID_ARGUMENT, NOT_FOUND, ...) are successes;
//   - else an HTTP status: 504 is a timeout, other 5xx errors, 4xx successes (the caller's fault,
//     whatever the span status says);
//   - else the span status: Error is an error, a timeout when error.type or the status message
//     says so.
func classify(status ptrace.StatusCode, msg string, a *callAttrs) breakerfeed.Class {
	if a.rpcCode >= 0 {
		switch a.rpcCode {
		case 4: // DEADLINE_EXCEEDED
			return breakerfeed.Timeout
		case 2, 8, 12, 13, 14, 15: // UNKNOWN, RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS
			return breakerfeed.Error
		case 0, 1, 3, 5, 6, 7, 9, 10, 11, 16:
			return breakerfeed.Success
		}
		// Not a gRPC code (another RPC system's): the span status decides.
	}
	switch {
	case a.httpStatus == 504:
		return breakerfeed.Timeout
	case a.httpStatus >= 500 && a.httpStatus < 600:
		return breakerfeed.Error
	case a.httpStatus >= 400 && a.httpStatus < 500:
		return breakerfeed.Success
	}
	if status == ptrace.StatusCodeError {
		if mentionsTimeout(a.errorType) || mentionsTimeout(msg) {
			return breakerfeed.Timeout
		}
		return breakerfeed.Error
	}
	return breakerfeed.Success
}

// grpcCodes are the gRPC status names rpc.response.status_code carries.
var grpcCodes = map[string]int64{
	"OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4,
	"NOT_FOUND": 5, "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8,
	"FAILED_PRECONDITION": 9, "ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12,
	"INTERNAL": 13, "UNAVAILABLE": 14, "DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}

func grpcCodeByName(s string) int64 {
	if c, ok := grpcCodes[s]; ok {
		return c
	}
	if n, ok := parseSmallInt(s); ok {
		return n
	}
	return -1
}

// intValue reads an integer attribute, or a string of up to 9 digits; 0 otherwise.
func intValue(v pcommon.Value) int64 {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return int64(v.Double())
	case pcommon.ValueTypeStr:
		n, _ := parseSmallInt(v.Str())
		return n
	}
	return 0
}

func parseSmallInt(s string) (int64, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// maxTimeoutScan bounds how much of a status message or error type is searched.
const maxTimeoutScan = 256

// mentionsTimeout reports whether s says "timeout", "timed out" or "deadline", in any case,
// within its first maxTimeoutScan bytes. It does not allocate.
func mentionsTimeout(s string) bool {
	if len(s) > maxTimeoutScan {
		s = s[:maxTimeoutScan]
	}
	for i := 0; i < len(s); i++ {
		if hasFoldPrefix(s[i:], "timeout") || hasFoldPrefix(s[i:], "timed out") || hasFoldPrefix(s[i:], "deadline") {
			return true
		}
	}
	return false
}

// hasFoldPrefix reports whether s starts with the lower-case ASCII word w, ignoring ASCII case.
func hasFoldPrefix(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}
