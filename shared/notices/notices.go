// Package notices carries change notices from the read side to live clients
// (DESIGN.md "Redis"): each logical stream ("cart:<id>", "user:<id>",
// "products", …) has a bounded history in Redis, the durable record used
// for SSE resume and gap filling, and a pub/sub channel for low-latency live
// delivery. Every live notice names the entry before it, so a subscriber can
// tell when it missed one and read the gap from the history.
//
// A history is a Redis list (history.go), bounded by count, bytes and age;
// a notice that concerns several audiences (a cart's change, for the cart's
// stream and its owner's) is kept once, in its aggregate's history, and the
// other histories hold a reference to it that readers resolve (issue 19).
package notices

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Notice is one entry of a stream's history.
type Notice struct {
	// ID is the notice's position in its stream (a Redis Stream entry id,
	// "<ms>-<seq>"); SSE uses it as the event id.
	ID string `json:"id"`
	// PrevID is the id of the entry before this one ("" for the first).
	PrevID string `json:"prevId"`
	// Stream is the logical stream, e.g. "cart:123".
	Stream string `json:"stream"`
	// Type is the SSE event name, e.g. "cart.updated".
	Type string `json:"type"`
	// Data is the JSON payload.
	Data json.RawMessage `json:"data"`
	// Traceparent links the notice to the trace of the change it announces.
	Traceparent string `json:"traceparent,omitempty"`
}

// Stream names, one place for every service.

// CartStream is the stream of one cart's changes.
func CartStream(cartID string) string { return "cart:" + cartID }

// OrderStream is the stream of one order's changes.
func OrderStream(orderID string) string { return "order:" + orderID }

// UserStream is the "me" stream of everything that concerns one user.
func UserStream(userID string) string { return "user:" + userID }

// Stream names the stream of one aggregate of another domain's: kind and
// id joined by a colon ("seat:gala.A1"), as the shop's are. Publish a change
// there with the owner's UserStream in Item.Also, and stream-service's
// /streams/me carries it to the owner live and on resume.
func Stream(kind, id string) string { return kind + ":" + id }

// ProductsStream is the public stream of product changes.
const ProductsStream = "products"

// historyKey is a stream's history, a Redis list (the Redis Streams of
// earlier versions were "notices:<stream>", the pub/sub channel's name).
func historyKey(stream string) string { return "nhist:" + stream }
func channel(stream string) string    { return "notices:" + stream }

// streamFromChannel is the inverse of channel.
func streamFromChannel(ch string) string { return strings.TrimPrefix(ch, "notices:") }

// ValidID reports whether id looks like a notice id ("<ms>-<seq>").
func ValidID(id string) bool {
	_, _, ok := parseID(id)
	return ok
}

func parseID(id string) (ms, seq uint64, ok bool) {
	a, b, found := strings.Cut(id, "-")
	if !found {
		return 0, 0, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return ms, seq, err1 == nil && err2 == nil
}

// CompareIDs orders two notice ids: -1, 0 or +1. "" sorts before every id.
func CompareIDs(a, b string) int {
	if a == b {
		return 0
	}
	if a == "" {
		return -1
	}
	if b == "" {
		return 1
	}
	am, as, _ := parseID(a)
	bm, bs, _ := parseID(b)
	switch {
	case am < bm || (am == bm && as < bs):
		return -1
	case am == bm && as == bs:
		return 0
	}
	return 1
}
