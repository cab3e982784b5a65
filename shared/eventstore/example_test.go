package eventstore_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

// A TableStore appends a command's events and its cmd- marker in one
// transaction, with optimistic concurrency on the stream's version; the
// same command appended again is a duplicate carrying its first events.
// (It runs against the private Azurite TestMain starts.)
func ExampleTableStore() {
	ctx := context.Background()
	acc, err := storage.Connect(env.ConnString)
	if err != nil {
		panic(err)
	}
	table := testenv.TableName("events")
	if err := acc.EnsureTables(ctx, table); err != nil {
		panic(err)
	}
	store := eventstore.NewTableStore(acc, table, nil)

	event := func(version int64, commandID string) envelope.Event {
		return envelope.Event{EventID: envelope.DerivedID(commandID, fmt.Sprint(version)), Type: "CounterAdded", SchemaVersion: 1,
			AggregateType: "counter", AggregateID: "c1", Version: version, OccurredAt: envelope.Now(),
			Data: json.RawMessage(`{"by":1}`), Metadata: envelope.EventMetadata{CommandID: commandID}}
	}
	first := envelope.DerivedID("example", "first")
	fmt.Println(store.Append(ctx, "counter-c1", 0, []envelope.Event{event(1, first), event(2, first)}, first))

	// Another writer that still thinks the stream is empty conflicts.
	other := envelope.DerivedID("example", "other")
	fmt.Println(eventstore.IsConflict(store.Append(ctx, "counter-c1", 0, []envelope.Event{event(1, other)}, other)))

	// The first command delivered again is answered with its recorded events.
	dup, ok := eventstore.AsDuplicate(store.Append(ctx, "counter-c1", 2, []envelope.Event{event(3, first)}, first))
	fmt.Println(ok, len(dup.Events))

	events, err := store.Load(ctx, "counter-c1", 1)
	for _, e := range events {
		fmt.Println(e.Version, e.Type)
	}
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// true 2
	// 1 CounterAdded
	// 2 CounterAdded
	// <nil>
}
