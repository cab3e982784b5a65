package commandapi

import (
	"net/http"

	"github.com/prism-es/prism/shared/apperr"
	"github.com/prism-es/prism/shared/auth"
	"github.com/prism-es/prism/shared/envelope"
	"github.com/prism-es/prism/shared/httpapi"
)

// StatusView is the answer of GET .../commands/{commandId} (docs/api.md).
type StatusView struct {
	CommandID   string `json:"commandId"`
	Type        string `json:"type,omitempty"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
	AggregateID string `json:"aggregateId"`
	Version     int64  `json:"version,omitempty"`
	UpdatedAt   string `json:"updatedAt"`
}

// StatusParam is the path value the status route reads the command id from.
const StatusParam = "commandId"

// StatusHandler serves GET .../commands/{commandId}: the caller's commands
// only; anyone else's is 404, as is an unknown or expired id.
func (s *Service) StatusHandler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue(StatusParam)
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
		p, _ := auth.PrincipalFrom(r.Context())
		if !ok || st.UserID != p.UserID {
			httpapi.WriteError(w, r, notFound)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, StatusView{
			CommandID: st.CommandID, Type: st.Type, Status: st.Status, Reason: st.Reason,
			AggregateID: st.AggregateID, Version: st.Version, UpdatedAt: st.UpdatedAt.Format("2006-01-02T15:04:05.000Z07:00"),
		})
	}
}
