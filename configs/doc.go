// Package configs is the hub's configuration: the YAML schema, Load and
// Validate.
//
// The schema is strict. Every key of a file is checked against the Go types
// (their yaml tags) before decoding, and every problem is collected, not only
// the first: unknown keys (with the known ones), repeated keys, values of the
// wrong kind, invalid values. Each Problem names the file, the full key path
// ("connectors[1].settings.token") and what is wrong; Problems prints one a
// line, for `hub check-config`. yaml.v3's own KnownFields is not used, as it
// stops at the first error and does not give the path.
//
// Loading runs in this order: parse (a syntax error stops here, with its
// line); expand anchors, aliases and merge keys into copies (bounded, so that
// nested aliases cannot exhaust memory); expand ${NAME}, ${NAME:-default} and
// $$ in scalar values only, never in keys and never re-parsing YAML; replace
// each X_file key by X read from that file; check the tree against Config;
// decode; apply defaults; Validate. A connector's settings are checked by its
// type: Validate calls connectors.Build with a Decode func from
// Connector.Decoder, which checks and decodes strictly into the type's own
// struct. A factory's errors become problems under
// connectors[i].settings; an error message of the form "key: message" is
// placed under that key. Problems that only echo an earlier one (an unset
// variable leaving a required value empty) are dropped.
//
// Secrets: values of keys named token, secret, password, dsn or key, or
// ending so, and values read from *_file keys, never appear in problems:
// messages are written without values, and any secret a factory's message
// quotes is masked. Config.Redacted, String and LogValue give the effective
// configuration with secrets masked for logging.
package configs
