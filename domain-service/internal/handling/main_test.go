package handling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/domain-service/internal/checkout"
	"github.com/prism-es/prism/domain-service/internal/handling"
	"github.com/prism-es/prism/domain-service/internal/paymentprovider"
	"github.com/prism-es/prism/shared/aggregate"
	"github.com/prism-es/prism/shared/commandstatus"
	"github.com/prism-es/prism/shared/config"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventcatalog"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/nudge"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/redisconn"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// world is one isolated set of tables and queues for a test. subscriber
// stands for the read side (tests drain it); saga feeds the checkout saga.
type world struct {
	events, snapshots, commands, deadlines, subscriber, saga string
	// payKey prefixes nothing: the simulator keys by order id, unique per test.
}

func newWorld(t *testing.T) world {
	t.Helper()
	w := world{
		events: testenv.TableName("events"), snapshots: testenv.TableName("snaps"),
		commands: testenv.QueueName("commands"), deadlines: testenv.QueueName("deadlines"), subscriber: testenv.QueueName("events-rm"), saga: testenv.QueueName("events-saga"),
	}
	acc := account(t)
	require.NoError(t, acc.EnsureTables(context.Background(), w.events, w.snapshots))
	require.NoError(t, acc.EnsureQueues(context.Background(), w.commands, w.deadlines, w.subscriber, w.saga))
	return w
}

// simulator is the payment simulator every replica of a test shares.
func simulator(t *testing.T, slow time.Duration) *paymentprovider.Simulator {
	rdb, err := redisconn.Connect(env.RedisURL)
	require.NoError(t, err)
	t.Cleanup(func() { rdb.Close() })
	return paymentprovider.NewSimulator(rdb, slow)
}

func account(t *testing.T) *storage.Account {
	t.Helper()
	acc, err := storage.Connect(env.ConnString)
	require.NoError(t, err)
	return acc
}

// replica is one domain-service instance with its own clients, as a separate
// process would have.
type replica struct {
	handler *aggregate.Handler
	stop    func()
}

func startReplica(t *testing.T, w world, cfg handling.Config) *replica {
	return startReplicaWith(t, w, cfg, simulator(t, time.Minute))
}

// startReplicaWith starts a replica charging through payments.
func startReplicaWith(t *testing.T, w world, cfg handling.Config, payments *paymentprovider.Simulator) *replica {
	t.Helper()
	acc := account(t)
	rdb, err := redisconn.Connect(env.RedisURL)
	require.NoError(t, err)
	t.Cleanup(func() { rdb.Close() })
	waker := nudge.New(rdb)
	commands := queue.Open(acc, w.commands, waker)
	deadlines := queue.Open(acc, w.deadlines, waker)
	h := handling.New(handling.Deps{Deps: aggregate.Deps{
		Store:     eventstore.NewTableStore(acc, w.events, eventcatalog.Upcasters()),
		Snapshots: eventstore.NewSnapshots(acc, w.snapshots),
		Subscribers: []aggregate.Subscriber{
			{Subscription: config.Subscription{Name: "everything"}, Queue: queue.Open(acc, w.subscriber, nil)},
			{Subscription: config.SubscriptionNamed("saga"), Queue: queue.Open(acc, w.saga, waker)},
		},
		Commands:  commands,
		Deadlines: deadlines,
		Outcomes:  aggregate.Outcomes{Status: commandstatus.New(rdb), Notices: notices.NewPublisher(rdb, notices.Config{})},
	}, Payments: payments}, cfg)
	consumerCfg := queue.ConsumerConfig{
		Concurrency: 16, RetrySchedule: []time.Duration{time.Second, time.Second, time.Second, time.Second},
		MinPoll: 20 * time.Millisecond, MaxPoll: 200 * time.Millisecond, DrainTimeout: 10 * time.Second, DepthEvery: -1,
		OnPoison: h.Failed,
	}
	c := queue.NewConsumer(commands, h.Handle, waker, consumerCfg)
	due := queue.NewConsumer(deadlines, h.Handle, waker, consumerCfg)
	consumerCfg.OnPoison = nil
	saga := queue.NewConsumer(queue.Open(acc, w.saga, waker), h.Events(checkout.Subscriber), waker, consumerCfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 3)
	go func() { _ = c.Run(ctx); done <- struct{}{} }()
	go func() { _ = due.Run(ctx); done <- struct{}{} }()
	go func() { _ = saga.Run(ctx); done <- struct{}{} }()
	stopped := false
	r := &replica{handler: h, stop: func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			<-done
			<-done
		}
	}}
	t.Cleanup(r.stop)
	return r
}

// command builds a command envelope for user.
func command(user, aggType, aggID, typ string, payload any) envelope.Command {
	p, _ := json.Marshal(payload)
	return envelope.Command{
		CommandID: uuid.NewString(), Type: typ, AggregateType: aggType, AggregateID: aggID, Payload: p,
		Metadata: envelope.CommandMetadata{CorrelationID: "corr-" + aggID, UserID: user, IssuedAt: time.Now().UTC(), IdempotencyKey: uuid.NewString(),
			Traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	}
}

func send(t *testing.T, w world, cmds ...envelope.Command) {
	t.Helper()
	q := queue.Open(account(t), w.commands, nil)
	for _, c := range cmds {
		b, err := json.Marshal(c)
		require.NoError(t, err)
		require.NoError(t, q.Send(context.Background(), b))
	}
}

// settle polls until the command has a final status.
func settle(t *testing.T, id string) commandstatus.Status {
	t.Helper()
	rdb, err := redisconn.Connect(env.RedisURL)
	require.NoError(t, err)
	defer rdb.Close()
	s := commandstatus.New(rdb)
	var st commandstatus.Status
	require.Eventually(t, func() bool {
		got, ok, err := s.Get(context.Background(), id)
		st = got
		return err == nil && ok && got.Terminal()
	}, 30*time.Second, 10*time.Millisecond, "command %s did not settle", id)
	return st
}

func loadStream(t *testing.T, w world, aggType, id string) []envelope.Event {
	t.Helper()
	events, err := eventstore.NewTableStore(account(t), w.events, eventcatalog.Upcasters()).Load(context.Background(), envelope.StreamID(aggType, id), 1)
	require.NoError(t, err)
	return events
}

// drain takes every message from the subscriber queue (deleting them).
func drain(t *testing.T, w world) []envelope.Event {
	t.Helper()
	q := queue.Open(account(t), w.subscriber, nil)
	var out []envelope.Event
	for {
		msgs, err := q.Receive(context.Background(), 32, 30*time.Second)
		require.NoError(t, err)
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			e, err := envelope.DecodeEvent(m.Body)
			require.NoError(t, err, string(m.Body))
			out = append(out, e)
			require.NoError(t, q.Delete(context.Background(), m))
		}
	}
}

func defineProduct(t *testing.T, w world, sku string, price int64, stock int) {
	t.Helper()
	c := command("admin", "product", sku, "DefineProduct", map[string]any{"sku": sku, "name": "Widget " + sku, "priceCents": price, "stock": stock})
	send(t, w, c)
	require.Equal(t, commandstatus.Succeeded, settle(t, c.CommandID).Status)
}

func skus(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("SKU-%d-%s", i, uuid.NewString()[:6])
	}
	return out
}

func storeOf(t *testing.T, w world) *eventstore.TableStore {
	return eventstore.NewTableStore(account(t), w.events, eventcatalog.Upcasters())
}
