package configs

import _ "embed" // the example knowledge base

// ExampleFAQ is faq.example.yaml: ten entries in zh, en and it, for the
// sandbox and as a model to copy.
//
//go:embed faq.example.yaml
var ExampleFAQ []byte
