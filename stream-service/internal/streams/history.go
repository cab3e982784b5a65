package streams

import (
	"context"
	"net/http"

	"github.com/prism-es/prism/shared/notices"
)

// lastEventID is where the client resumes: the Last-Event-ID header, or the
// lastEventId query parameter for clients that cannot set headers.
func lastEventID(r *http.Request) string {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id
	}
	return r.URL.Query().Get("lastEventId")
}

// history is what topics read of the notice histories (the kit's
// notices.Reader; tests stall it).
type history interface {
	Last(ctx context.Context, stream string) (string, error)
	After(ctx context.Context, stream, afterID string, limit int64) ([]notices.Notice, bool, error)
	Head(ctx context.Context, stream string, limit int64) ([]notices.Notice, error)
}

var _ history = (*notices.Reader)(nil)
