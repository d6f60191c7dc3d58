package native_test

import (
	"github.com/stampede-load/stampede/internal/native"
	"github.com/stampede-load/stampede/internal/worker"
)

// An external test package: no cycle even once internal/worker imports this package.
var _ worker.Child = (*native.Engine)(nil)
