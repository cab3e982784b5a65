package sse_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/prismctl/internal/sse"
)

// readAll parses the whole input and returns the events and comments.
func readAll(t *testing.T, input string) ([]sse.Event, []string, *sse.Reader) {
	t.Helper()
	return readFrom(t, strings.NewReader(input))
}

func readFrom(t *testing.T, in io.Reader) ([]sse.Event, []string, *sse.Reader) {
	t.Helper()
	r := sse.NewReader(in)
	var comments []string
	r.OnComment = func(c string) { comments = append(comments, c) }
	var evs []sse.Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return evs, comments, r
		}
		require.NoError(t, err)
		evs = append(evs, ev)
	}
}

const frames = "\uFEFF: hello\n" + // BOM, then a comment
	"retry: 2500\n" +
	"id: 1\n" +
	"event: cart.updated\n" +
	"data: {\"a\":1,\n" +
	"data:  \"b\":2}\n" + // only one leading space is removed
	"\n" +
	":hb\n" +
	"\n" + // a blank line after a comment dispatches nothing
	"id: 2\n" +
	"\n" + // id without data: no event, but the last id moves
	"data: plain\n" + // no event: → "message"; inherits id 2
	"\n" +
	"id: 3\r\nevent: reset\r\ndata: x\r\n\r\n" + // CRLF
	"id: 4\revent: order.updated\rdata\r\r" + // lone CR; "data" without colon is an empty line of data
	"unknown: field\n" +
	"id: with\x00nul\n" + // ignored: contains NUL
	"data: last\n\n" +
	"id: 9\ndata: cut off by the end"

func TestReaderParsesFrames(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]io.Reader{
		"whole":         strings.NewReader(frames),
		"byte by byte":  iotest.OneByteReader(strings.NewReader(frames)),
		"half-finished": iotest.HalfReader(strings.NewReader(frames)),
	} {
		t.Run(name, func(t *testing.T) { checkFrames(t, in) })
	}
}

func checkFrames(t *testing.T, in io.Reader) {
	evs, comments, r := readFrom(t, in)
	assert.Equal(t, []sse.Event{
		{ID: "1", Type: "cart.updated", Data: "{\"a\":1,\n \"b\":2}"},
		{ID: "2", Type: "message", Data: "plain"},
		{ID: "3", Type: "reset", Data: "x"},
		{ID: "4", Type: "order.updated", Data: ""},
		{ID: "4", Type: "message", Data: "last"},
	}, evs)
	assert.Equal(t, []string{"hello", "hb"}, comments)
	assert.Equal(t, "4", r.LastEventID(), "the unfinished event's id is not committed")
	assert.Equal(t, 2500*time.Millisecond, r.Retry())
}

func TestReaderIDWithoutDataMovesTheResumePoint(t *testing.T) {
	t.Parallel()
	evs, _, r := readAll(t, "id: 7\ndata: a\n\nid: 8\n\n")
	require.Len(t, evs, 1)
	assert.Equal(t, "8", r.LastEventID())

	// An empty id: resets it.
	_, _, r = readAll(t, "id: 7\n\nid\n\n")
	assert.Equal(t, "", r.LastEventID())
}

func TestReaderIgnoresBadRetry(t *testing.T) {
	t.Parallel()
	_, _, r := readAll(t, "retry: 1s\n\nretry: -5\n\nretry:\n\n")
	assert.Zero(t, r.Retry())
}

func TestReaderResumesFromAGivenID(t *testing.T) {
	t.Parallel()
	r := sse.NewReader(strings.NewReader("data: no id\n\n"))
	r.SetLastEventID("41")
	ev, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "41", ev.ID)
}

func TestReaderDeliversAnEventBeforeTheStreamEnds(t *testing.T) {
	t.Parallel()
	// A live stream: the event must come out as soon as its blank line
	// arrives, even when the line ends with a lone CR and nothing follows yet.
	pr, pw := io.Pipe()
	defer pw.Close()
	r := sse.NewReader(pr)
	go func() { _, _ = pw.Write([]byte("id: 1\rdata: now\r\r")) }()
	got := make(chan sse.Event, 1)
	go func() {
		ev, err := r.Next()
		if err == nil {
			got <- ev
		}
	}()
	select {
	case ev := <-got:
		assert.Equal(t, sse.Event{ID: "1", Type: "message", Data: "now"}, ev)
	case <-time.After(5 * time.Second):
		t.Fatal("the event was not delivered while the stream stayed open")
	}
}
