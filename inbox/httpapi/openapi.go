package httpapi

import _ "embed"

// openAPIDocument is the OpenAPI 3.1 description of every route, served at
// /api/v1/openapi.json. It is written by hand; TestOpenAPICoversRoutes fails
// when a registered route or a resource field is missing from it.
//
//go:embed openapi.json
var openAPIDocument []byte
