package projection_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/eventstore"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/projection"
	"github.com/prism-es/prism/shared/queue"
	"github.com/prism-es/prism/shared/readmodel"
	"github.com/prism-es/prism/shared/storage"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// Seat is the read model of one seat of a show: who holds it, at which
// version of the seat's stream.
type Seat struct {
	Show    string `json:"show"`
	Seat    string `json:"seat"`
	HeldBy  string `json:"heldBy,omitempty"`
	Version int64  `json:"version"`
}

// seats projects "seat" events (aggregate id "<show>.<seat>") into table
// "seats": one partition per show, one row per seat.
var seats = projection.Of[Seat]{
	Name:          "seats",
	AggregateType: "seat",
	Key: func(id string) (string, string) {
		show, seat := splitSeat(id)
		return show, seat
	},
	New: func(first envelope.Event) Seat {
		show, seat := splitSeat(first.AggregateID)
		return Seat{Show: show, Seat: seat}
	},
	Apply: func(s *Seat, e envelope.Event) error {
		var d struct {
			User string `json:"user"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return err
		}
		switch e.Type {
		case "SeatHeld":
			s.HeldBy = d.User
		case "SeatReleased":
			s.HeldBy = ""
		default:
			return fmt.Errorf("seats: unknown event type %q", e.Type)
		}
		s.Version = e.Version
		return nil
	},
	// Each change goes to the holder's own stream, which stream-service
	// serves as GET /streams/me.
	Notices: func(s *Seat, data json.RawMessage) []notices.Item {
		if s.HeldBy == "" {
			return nil
		}
		return []notices.Item{{Stream: notices.UserStream(s.HeldBy), Type: "seat.updated", Data: data}}
	},
}

func splitSeat(id string) (show, seat string) {
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] == '.' {
			return id[:i], id[i+1:]
		}
	}
	return id, ""
}

func seatEvent(id string, version int64, typ, user string) envelope.Event {
	data, _ := json.Marshal(map[string]string{"user": user})
	return envelope.Event{EventID: fmt.Sprintf("%s-%d", id, version), Type: typ, SchemaVersion: 1, AggregateType: "seat",
		AggregateID: id, Version: version, OccurredAt: envelope.Now(), Data: data,
		Metadata: envelope.EventMetadata{CommandID: fmt.Sprintf("c-%s-%d", id, version)}}
}

// ExampleOf declares a typed projection, registers it with a runner and
// feeds it events as the events-<subscriber> queue would: out of order, so
// the runner fills the gap from the event store, and twice, so the version
// gate drops the repeat.
func ExampleOf() {
	ctx := context.Background()
	acc, err := storage.Connect(env.ConnString)
	if err != nil {
		panic(err)
	}
	if err := acc.EnsureTables(ctx, "exampleevents", readmodel.CatalogTable, seats.Name); err != nil {
		panic(err)
	}
	opts, err := redis.ParseURL(env.RedisURL)
	if err != nil {
		panic(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()

	events := eventstore.NewTableStore(acc, "exampleevents", nil)
	store := readmodel.NewStore(acc)
	// Registration: one projection, one argument.
	runner := projection.NewRunner(store, readmodel.NewCatalog(acc, 0), events, notices.NewPublisher(rdb, notices.Config{}), seats.Projection())

	held := seatEvent("gala.A1", 1, "SeatHeld", "alice")
	released := seatEvent("gala.A1", 2, "SeatReleased", "")
	heldAgain := seatEvent("gala.A1", 3, "SeatHeld", "bob")
	for _, e := range []envelope.Event{held, released, heldAgain} {
		if err := events.Append(ctx, e.StreamID(), e.Version-1, []envelope.Event{e}, e.Metadata.CommandID); err != nil {
			panic(err)
		}
	}
	// The queue delivers version 3 first, then version 1 again.
	for _, e := range []envelope.Event{heldAgain, held} {
		body, _ := json.Marshal(e)
		if err := runner.Handle(ctx, &queue.Message{Body: body}); err != nil {
			panic(err)
		}
	}
	row, _, err := store.Get(ctx, seats.Name, "gala", "A1")
	if err != nil {
		panic(err)
	}
	fmt.Println(row.Version, string(row.Doc))
	mine, err := notices.NewReader(rdb).Tail(ctx, notices.UserStream("bob"), 10)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(mine), mine[0].Type)
	// Output:
	// 3 {"show":"gala","seat":"A1","heldBy":"bob","version":3}
	// 1 seat.updated
}
