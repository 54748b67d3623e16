// Package models holds Tongdao's domain types: the rows the store keeps
// (contacts, identities, conversations, messages, events, tokens), the
// normalized Inbound and Outbound messages that connectors and the inbox
// exchange, and the error codes every layer shares.
//
// It imports nothing of ours, so connectors and the inbox can both depend on it
// without depending on each other.
package models
