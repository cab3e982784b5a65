// Package shared is the root of Prism's event-sourcing kit: the one
// implementation of envelopes, the Table Storage event store, Storage Queue
// consumers, Redis stores, configuration and HTTP plumbing that every Prism
// service uses. Services reach Azure Storage and Redis only through it.
package shared
