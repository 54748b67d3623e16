package models

// ReloadView is the outcome of a configuration reload that was applied:
// the connectors by name, sorted, and what the reload left alone.
type ReloadView struct {
	// Added connectors were started.
	Added []string `json:"added"`
	// Removed connectors were stopped after their work in flight; their
	// queued replies stay queued for a while in case they come back.
	Removed []string `json:"removed"`
	// Restarted connectors changed type or settings: the old one was
	// stopped and the new one started.
	Restarted []string `json:"restarted"`
	// Unchanged connectors kept running untouched.
	Unchanged []string `json:"unchanged"`
	// Warnings say what changed in the file but was not applied, such as
	// "server.listen changed; it takes effect at the next restart".
	Warnings []string `json:"warnings"`
}
