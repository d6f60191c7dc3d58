// Package web serves the master's web UI, its REST API (the UI uses nothing else) and the live
// websocket feed.
//
// The UI's files are embedded (go:embed) and served from an fs.FS. Every second the Hub takes one
// Snapshot of the master, encodes one JSON frame, and hands it to every connected client through a
// bounded queue: a slow client loses frames (counted, and it gets a full snapshot once it catches
// up) but never slows the master or the other clients. A client that connects gets the current
// state at once.
//
// Every route is wrapped (auth.go): state-changing requests from another origin or with a non-JSON
// body are refused, always; with an [Auth] configured, every route but /healthz, /readyz and the
// login page needs a bearer token, basic auth, or the HttpOnly SameSite=Strict session cookie the
// login page obtains (browsers cannot put headers on the websocket). Secrets compare in constant time.
//
// A Server is safe for concurrent use; its handlers run on net/http's goroutines and the Hub runs
// in its own until the context given to Run ends.
package web
