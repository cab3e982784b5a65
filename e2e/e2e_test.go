package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/e2e/stack"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
)

// TestMain removes the binaries the stacks were built from.
func TestMain(m *testing.M) {
	code := m.Run()
	stack.RemoveBuild()
	os.Exit(code)
}

// startStack starts a whole stack for one test and stops it afterwards,
// printing the tail of every log if the test failed.
func startStack(t *testing.T, opts stack.Options) *stack.Stack {
	t.Helper()
	s, err := stack.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, s)
		}
		s.Stop()
	})
	return s
}

func dumpLogs(t *testing.T, s *stack.Stack) {
	entries, _ := os.ReadDir(s.Logs)
	for _, e := range entries {
		b, _ := os.ReadFile(s.Logs + "/" + e.Name())
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		t.Logf("--- %s (last %d lines)\n%s", e.Name(), len(lines), strings.Join(lines, "\n"))
	}
}

// events loads a stream straight from the event store (in whichever
// account holds it).
func events(t *testing.T, s *stack.Stack, stream string) []envelope.Event {
	t.Helper()
	accs, err := s.Storage()
	require.NoError(t, err)
	evs, err := eventstore.NewTableStore(accs, eventstore.DefaultTable, eventcatalog.Upcasters()).Load(context.Background(), stream, 1)
	require.NoError(t, err)
	return evs
}

// corruptCart writes a version-2 row whose data is not JSON into cart's
// stream, so every later command on the cart fails until the row is gone; it
// returns the events table, for the repair.
func corruptCart(t *testing.T, s *stack.Stack, cart string) *aztables.Client {
	t.Helper()
	accs, err := s.Storage()
	require.NoError(t, err)
	table := accs.ForStream("cart-" + cart).Tables.NewClient(eventstore.DefaultTable)
	bad, err := json.Marshal(map[string]any{"PartitionKey": "cart-" + cart, "RowKey": eventstore.RowKey(2), "EventId": uuid.NewString(),
		"EventType": "ItemAdded", "SchemaVersion": 2, "AggregateType": "cart", "AggregateId": cart, "Data": "{corrupt",
		"Metadata": `{"commandId":"manual"}`, "OccurredAt": time.Now().UTC().Format(time.RFC3339Nano), "OccurredAt@odata.type": "Edm.DateTime"})
	require.NoError(t, err)
	_, err = table.AddEntity(context.Background(), bad, nil)
	require.NoError(t, err)
	return table
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func sku(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()) }
