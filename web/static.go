package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var embedded embed.FS

// Static is the UI's files: index.html at the root.
func Static() fs.FS {
	sub, err := fs.Sub(embedded, "static")
	if err != nil {
		panic(err) // the directory is embedded at build time; this cannot fail
	}
	return sub
}
