package commands

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/prism-es/prism/prism-api/internal/auth"
	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/httpapi"
)

// StatusView is the answer of GET /api/commands/{commandId} (API.md).
type StatusView struct {
	CommandID   string `json:"commandId"`
	Type        string `json:"type,omitempty"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
	AggregateID string `json:"aggregateId"`
	Version     int64  `json:"version,omitempty"`
	UpdatedAt   string `json:"updatedAt"`
}

// GetStatus serves GET /api/commands/{commandId}: the caller's commands only;
// anyone else's is 404, as is an unknown or expired id.
func (s *Service) GetStatus() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["commandId"]
		notFound := apperr.New(apperr.NotFound, "command not found")
		if !envelope.ValidID(id) {
			httpapi.WriteError(w, r, notFound)
			return
		}
		st, ok, err := s.Status.Get(r.Context(), id)
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		if !ok || st.UserID != auth.Principal(r).UserID {
			httpapi.WriteError(w, r, notFound)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, StatusView{
			CommandID: st.CommandID, Type: st.Type, Status: st.Status, Reason: st.Reason,
			AggregateID: st.AggregateID, Version: st.Version, UpdatedAt: st.UpdatedAt.Format("2006-01-02T15:04:05.000Z07:00"),
		})
	}
}
