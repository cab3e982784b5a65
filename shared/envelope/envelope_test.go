package envelope_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"

	"github.com/prism-es/prism/shared/envelope"
)

func TestKeyedIDIsAFunctionOfKindUserAndKey(t *testing.T) {
	id := envelope.KeyedID("command", "alice", "key-1")
	_, err := uuid.Parse(id)
	assert.NoError(t, err)
	assert.Equal(t, id, envelope.KeyedID("command", "alice", "key-1"), "the same key names the same command for ever")
	others := []string{
		envelope.KeyedID("cart", "alice", "key-1"),
		envelope.KeyedID("command", "bob", "key-1"),
		envelope.KeyedID("command", "alice", "key-2"),
		// A user id that would swallow part of the key, and the reverse.
		envelope.KeyedID("command", "alice\x1f5", "key-1"),
		envelope.KeyedID("command", "ali", "ce\x1fkey-1"),
		envelope.DerivedID("command", "alice", "key-1"),
	}
	seen := map[string]bool{id: true}
	for _, o := range others {
		assert.False(t, seen[o], "%s named twice", o)
		seen[o] = true
	}
}
