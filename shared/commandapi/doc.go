// Package commandapi is the write side's HTTP machinery: it turns an HTTP
// request into a command on the commands queue, the way every Prism command
// route behaves (docs/api.md "Commands"):
//
//  1. the caller is the authenticated principal (shared/auth; none: 401);
//  2. the Idempotency-Key header is required (1-128 printable characters);
//  3. the body is decoded strictly into the route's body type B (unknown
//     fields, wrong types, trailing data, over 64 KiB: 4xx problem+json
//     through shared/httpapi);
//  4. the route's Build validates the shape and names the aggregate and
//     the payload; every bad field is listed at once ([Checks]);
//  5. the key is claimed in Redis (shared/idempotency): the same key and
//     body again answer the first 202 (Idempotent-Replayed: true), another
//     body 422, a key in flight 409 with Retry-After;
//  6. the command's status is recorded as pending (shared/commandstatus),
//     the command is sent (queue.Commands routes it to its shard), and the
//     answer is 202 with Location: the status URL.
//
// A command's id is a function of (user, Idempotency-Key), and so is every
// id a route names for the client ([Request.NewID]): a retry after Redis
// forgot the key names the same command, which the event store's cmd- row
// answers as a duplicate.
//
// Declare a route with [Route], typed by its body, and mount it on an
// http.ServeMux with [Mount] (or on any router with [Mountable.Endpoint] and
// [Mountable.Handler]). [Service.StatusHandler] serves
// GET .../commands/{commandId}: the caller's own commands only.
//
// Path values are read with http.Request.PathValue: http.ServeMux sets them;
// on another router, copy its variables in with Request.SetPathValue in a
// middleware.
package commandapi
