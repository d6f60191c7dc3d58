package flow

import _ "embed"

// Schema is the JSON Schema (draft 2020-12) of the format, for editors: structure, keys and
// descriptions. Parse checks more (references, executors' rules, limits).
//
//go:embed flow.schema.json
var Schema []byte
