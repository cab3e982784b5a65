package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

// poisoned makes a fresh queue with one message moved to its poison queue.
func poisoned(t *testing.T, body string) *queue.Queue {
	t.Helper()
	ctx := context.Background()
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	name := testenv.QueueName("cmds")
	require.NoError(t, acc.EnsureQueues(ctx, name))
	q := queue.Open(acc, name, nil)
	require.NoError(t, q.Send(ctx, []byte(body)))
	msgs, err := q.Receive(ctx, 1, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.NoError(t, q.MoveToPoison(ctx, msgs[0], "handler exploded: boom"))
	return q
}

func TestPoisonListAndRedrive(t *testing.T) {
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", env.ConnString)
	ctx := context.Background()
	const body = `{"commandId":"c-1","type":"AddItem","payload":{"sku":"TEA-1"}}`
	q := poisoned(t, body)

	out, errOut, code := runArgs(t, "poison", "list", q.Name())
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, q.Name()+"-poison: 1 message(s), showing 1")
	assert.Contains(t, out, "reason:   handler exploded: boom")
	assert.Contains(t, out, "after 1 deliveries")
	assert.Contains(t, out, `body:     {"commandId":"c-1","type":"AddItem"`)
	assert.Contains(t, out, "prismctl poison redrive "+q.Name())

	// The poison queue's own name works too; --json has the whole record.
	out, errOut, code = runArgs(t, "poison", "list", q.Name()+"-poison", "--json")
	require.Equal(t, 0, code, errOut)
	var listed struct {
		Queue    string               `json:"queue"`
		Messages []queue.PoisonRecord `json:"messages"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &listed), out)
	require.Len(t, listed.Messages, 1)
	assert.Equal(t, q.Name(), listed.Messages[0].Queue)
	assert.Equal(t, int64(1), listed.Messages[0].DequeueCount)
	assert.JSONEq(t, body, string(listed.Messages[0].Original()))
	assert.NotEmpty(t, listed.Messages[0].MessageID)

	// The overview lists the queue with one poisoned message.
	out, errOut, code = runArgs(t, "poison", "list", "--json")
	require.Equal(t, 0, code, errOut)
	var rows []struct {
		Queue  string `json:"queue"`
		Poison int    `json:"poison"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rows), out)
	found := false
	for _, r := range rows {
		if r.Queue == q.Name() {
			found = true
			assert.Equal(t, 1, r.Poison)
		}
	}
	assert.True(t, found, "%s not in the overview: %s", q.Name(), out)

	out, errOut, code = runArgs(t, "poison", "redrive", q.Name())
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "moved 1 message(s) from "+q.Name()+"-poison back to "+q.Name()+"\n", out)

	// The original body is back on the main queue; the poison queue is empty.
	msgs, err := q.Receive(ctx, 32, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.JSONEq(t, body, string(msgs[0].Body))
	recs, err := q.PeekPoison(ctx, 32)
	require.NoError(t, err)
	assert.Empty(t, recs)

	out, _, code = runArgs(t, "poison", "list", q.Name())
	assert.Equal(t, 0, code)
	assert.Equal(t, q.Name()+"-poison is empty\n", out)
}

func TestPoisonRedriveLimit(t *testing.T) {
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", env.ConnString)
	q := poisoned(t, `{"n":1}`)
	ctx := context.Background()
	// A second poisoned message on the same queue.
	require.NoError(t, q.Send(ctx, []byte(`{"n":2}`)))
	msgs, err := q.Receive(ctx, 1, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.NoError(t, q.MoveToPoison(ctx, msgs[0], "again"))

	out, errOut, code := runArgs(t, "poison", "redrive", q.Name(), "--limit", "1", "--json")
	require.Equal(t, 0, code, errOut)
	assert.JSONEq(t, `{"queue":"`+q.Name()+`","from":"`+q.Name()+`-poison","moved":1}`, out)
	recs, err := q.PeekPoison(ctx, 32)
	require.NoError(t, err)
	assert.Len(t, recs, 1, "one left behind")
}

func TestPoisonErrors(t *testing.T) {
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", env.ConnString)
	_, errOut, code := runArgs(t, "poison", "list", "no-such-queue")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `there is no queue "no-such-queue"`)

	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", testenv.ConnectionString(1, 1, 1)) // nothing listens there
	_, errOut, code = runArgs(t, "poison", "redrive", "commands")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "make up")

	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true")
	_, errOut, code = runArgs(t, "poison", "list", "commands")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "UseDevelopmentStorage=true is not understood")
}
