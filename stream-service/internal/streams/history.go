package streams

import "net/http"

// lastEventID is where the client resumes: the Last-Event-ID header, or the
// lastEventId query parameter for clients that cannot set headers.
func lastEventID(r *http.Request) string {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id
	}
	return r.URL.Query().Get("lastEventId")
}
