package seat

import (
	"net/http"
	"regexp"

	"github.com/prism-es/prism/shared/commandapi"
	"github.com/prism-es/prism/shared/httpapi"
	"github.com/prism-es/prism/shared/notices"
	"github.com/prism-es/prism/shared/queryapi"
)

// doc:begin routes

var (
	showPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)
	seatPattern = regexp.MustCompile(`^[A-Z][0-9]{1,3}$`)
)

// Hold lengths a client may ask for, and the default.
const (
	MinHoldSeconds     = 1
	MaxHoldSeconds     = 900
	DefaultHoldSeconds = 300
)

// holdBody is POST .../hold's body: {"holdSeconds": 1-900}, optional.
type holdBody struct {
	HoldSeconds *int64 `json:"holdSeconds"`
}

// seatCommand checks the path's show and seat and names the seat's aggregate.
func seatCommand(r *commandapi.Request, c *commandapi.Checks, payload any) (commandapi.Command, error) {
	c.Match("show", r.Path("show"), showPattern, "must be 1-40 lowercase letters, digits and '-'")
	c.Match("seat", r.Path("seat"), seatPattern, "must be a row letter and a number (A12)")
	if err := c.Err(); err != nil {
		return commandapi.Command{}, err
	}
	return commandapi.Command{AggregateID: ID(r.Path("show"), r.Path("seat")), Payload: payload}, nil
}

// Routes are the seat's command routes: each an HTTP request turned into a
// command on the seat's stream, answered 202 (shared/commandapi).
var Routes = []commandapi.Mountable{
	commandapi.Route[holdBody]{
		Method: http.MethodPost, Path: "/api/shows/{show}/seats/{seat}/hold", Type: "HoldSeat", AggregateType: Type,
		Build: func(r *commandapi.Request, b *holdBody) (commandapi.Command, error) {
			var c commandapi.Checks
			seconds := int64(DefaultHoldSeconds)
			if b.HoldSeconds != nil {
				c.IntRange("holdSeconds", b.HoldSeconds, MinHoldSeconds, MaxHoldSeconds)
				seconds = *b.HoldSeconds
			}
			return seatCommand(r, &c, map[string]int64{"holdSeconds": seconds})
		},
	},
	commandapi.Route[struct{}]{
		Method: http.MethodPost, Path: "/api/shows/{show}/seats/{seat}/confirm", Type: "ConfirmHold", AggregateType: Type,
		Build: func(r *commandapi.Request, _ *struct{}) (commandapi.Command, error) {
			return seatCommand(r, &commandapi.Checks{}, nil)
		},
	},
	commandapi.Route[struct{}]{
		Method: http.MethodPost, Path: "/api/shows/{show}/seats/{seat}/release", Type: "ReleaseHold", AggregateType: Type,
		Build: func(r *commandapi.Request, _ *struct{}) (commandapi.Command, error) {
			return seatCommand(r, &commandapi.Checks{}, nil)
		},
	},
}

// Mount mounts the seat's routes on mux: its commands, the status of a
// command, and two queries (shared/queryapi): one seat (with ?minVersion=
// for read-your-writes) and a show's seats.
func Mount(mux *http.ServeMux, commands *commandapi.Service, queries *queryapi.Service) {
	commandapi.Mount(mux, commands, Routes...)
	mux.Handle("GET /api/commands/{commandId}", commands.StatusHandler())
	mux.HandleFunc("GET /api/shows/{show}/seats/{seat}", func(w http.ResponseWriter, r *http.Request) {
		show, seat := r.PathValue("show"), r.PathValue("seat")
		queries.ServeRow(w, r, ID(show, seat), queryapi.Row{Projection: Seats.Name, PartitionKey: show, RowKey: seat,
			Stream: notices.Stream(Type, ID(show, seat)), What: "seat"})
	})
	mux.HandleFunc("GET /api/shows/{show}/seats", func(w http.ResponseWriter, r *http.Request) {
		var c commandapi.Checks
		c.Match("show", r.PathValue("show"), showPattern, "must be 1-40 lowercase letters, digits and '-'")
		if err := c.Err(); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		queries.ServeList(w, r, Seats.Name, r.PathValue("show"))
	})
}

// doc:end routes
