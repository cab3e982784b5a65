// Package sse reads Server-Sent Events (the WHATWG "text/event-stream"
// format) and follows a stream across dropped connections, resuming with
// Last-Event-ID so nothing is missed or delivered twice.
package sse

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"time"
)

// DefaultType is the type of an event that has no event: field.
const DefaultType = "message"

// maxLine bounds one line of the stream.
const maxLine = 8 << 20

// Event is one dispatched event.
type Event struct {
	// ID is the stream's last event ID once this event arrived: its own id:
	// field, or the last one the server sent before it.
	ID string
	// Type is the event: field, DefaultType when there was none.
	Type string
	// Data is the event's data: lines joined with "\n".
	Data string
}

// Reader parses an event stream into events. It is not safe for concurrent use.
type Reader struct {
	sc    *bufio.Scanner
	first bool

	idBuf  string // the "last event ID buffer": set by id: fields
	lastID string // committed when an event (even an empty one) is dispatched
	retry  time.Duration

	data      strings.Builder
	hasData   bool
	eventType string

	// OnComment, when set, receives each comment line (the text after the
	// colon, one leading space removed). Servers send comments as heartbeats.
	OnComment func(text string)
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	sc.Split(lineSplitter())
	return &Reader{sc: sc, first: true}
}

// SetLastEventID starts the reader from id, as a resumed connection does:
// events without an id: field carry it until the server sends another.
func (r *Reader) SetLastEventID(id string) { r.idBuf, r.lastID = id, id }

// LastEventID is the id to resume after: the last id the server sent with
// a completed event (an id: field in a frame without data counts too).
func (r *Reader) LastEventID() string { return r.lastID }

// Retry is the reconnection delay the server asked for with retry:, or 0.
func (r *Reader) Retry() time.Duration { return r.retry }

// Next returns the next event. At the end of the stream it returns io.EOF
// (or the read error); an event cut off by the end is discarded, as the
// format requires.
func (r *Reader) Next() (Event, error) {
	for r.sc.Scan() {
		line := r.sc.Text()
		if r.first {
			r.first = false
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if line == "" {
			if ev, ok := r.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		r.field(line)
	}
	if err := r.sc.Err(); err != nil {
		return Event{}, err
	}
	return Event{}, io.EOF
}

// dispatch ends the current frame at a blank line.
func (r *Reader) dispatch() (Event, bool) {
	r.lastID = r.idBuf
	defer func() {
		r.data.Reset()
		r.hasData = false
		r.eventType = ""
	}()
	if !r.hasData {
		return Event{}, false
	}
	data := strings.TrimSuffix(r.data.String(), "\n")
	typ := r.eventType
	if typ == "" {
		typ = DefaultType
	}
	return Event{ID: r.lastID, Type: typ, Data: data}, true
}

// field processes one non-blank line.
func (r *Reader) field(line string) {
	name, value, found := strings.Cut(line, ":")
	if found {
		value = strings.TrimPrefix(value, " ")
	}
	switch name {
	case "":
		if r.OnComment != nil {
			r.OnComment(value)
		}
	case "event":
		r.eventType = value
	case "data":
		r.data.WriteString(value)
		r.data.WriteByte('\n')
		r.hasData = true
	case "id":
		if !strings.ContainsRune(value, 0) {
			r.idBuf = value
		}
	case "retry":
		if ms, err := strconv.ParseUint(value, 10, 31); err == nil && isDigits(value) {
			r.retry = time.Duration(ms) * time.Millisecond
		}
	}
	// Any other field is ignored.
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// lineSplitter splits on LF, CRLF or a lone CR. A CR ends its line at once
// (a live stream must not wait for the next byte); an LF right after it is
// skipped. It never returns a nil token with data left over, because the
// Scanner would then block reading more before looking at that data.
func lineSplitter() bufio.SplitFunc {
	skipLF := false
	return func(data []byte, atEOF bool) (int, []byte, error) {
		off := 0
		if skipLF && len(data) > 0 && data[0] == '\n' {
			off = 1
		}
		rest := data[off:]
		if i := bytes.IndexAny(rest, "\r\n"); i >= 0 {
			skipLF = rest[i] == '\r'
			return off + i + 1, rest[:i], nil
		}
		if atEOF {
			skipLF = false
			if len(rest) > 0 {
				return len(data), rest, nil
			}
			return len(data), nil, nil
		}
		// Need more data; keep skipLF (and the LF) for the next call.
		return 0, nil, nil
	}
}
