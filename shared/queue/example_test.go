package queue_test

import (
	"context"
	"fmt"
	"time"

	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

// A Consumer runs a Handler for each message of a queue: a nil error
// deletes the message; an error makes it visible again on the retry
// schedule, and after the last step moves it to <queue>-poison (OnPoison
// runs then); queue.Permanent poisons at once. (It runs against the private
// Azurite TestMain starts.)
func ExampleConsumer() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	acc, err := storage.Connect(env.ConnString)
	if err != nil {
		panic(err)
	}
	name := testenv.QueueName("example")
	if err := acc.EnsureQueues(ctx, name); err != nil {
		panic(err)
	}
	q := queue.Open(acc, name, nil)
	for _, body := range []string{`{"n":1}`, `"not what we expect"`} {
		if err := q.Send(ctx, []byte(body)); err != nil {
			panic(err)
		}
	}

	done := make(chan string, 2)
	handle := func(ctx context.Context, m *queue.Message) error {
		if m.Body[0] != '{' {
			return queue.Permanent(fmt.Errorf("not an object"))
		}
		done <- "handled " + string(m.Body)
		return nil
	}
	c := queue.NewConsumer(q, handle, nil, queue.ConsumerConfig{
		Concurrency: 1, MinPoll: 10 * time.Millisecond, MaxPoll: 100 * time.Millisecond, DepthEvery: -1,
		OnPoison: func(_ context.Context, m *queue.Message, reason string) { done <- "poisoned " + string(m.Body) },
	})
	go func() { _ = c.Run(ctx) }()
	got := map[string]bool{<-done: true, <-done: true}
	fmt.Println(got[`handled {"n":1}`], got[`poisoned "not what we expect"`])
	// Output: true true
}
