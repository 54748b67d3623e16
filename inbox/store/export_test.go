package store

// The reactions' per-message questions, for the plan test.
const (
	SQLBotState      = sqlBotState
	SQLQueuePosition = sqlQueuePosition
)
