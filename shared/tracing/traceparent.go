// Package tracing carries W3C trace context (traceparent) through Prism's
// envelopes, so one trace id follows a command from the HTTP request through
// the queues to the SSE notice.
package tracing

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
)

var traceparentPattern = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)

// Valid reports whether tp is a well-formed version-00 traceparent with
// non-zero ids.
func Valid(tp string) bool {
	m := traceparentPattern.FindStringSubmatch(tp)
	return m != nil && m[1] != "00000000000000000000000000000000" && m[2] != "0000000000000000"
}

// New starts a new trace: a sampled traceparent with fresh ids.
func New() string {
	return "00-" + randomHex(16) + "-" + randomHex(8) + "-01"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TraceIDOf returns the trace id of a well-formed traceparent, or "".
func TraceIDOf(tp string) string {
	if !Valid(tp) {
		return ""
	}
	return traceparentPattern.FindStringSubmatch(tp)[1]
}
