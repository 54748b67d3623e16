package store

// SQLBotState is the bot's per-message question, for the plan test.
const SQLBotState = sqlBotState

// SetLabelFewRows sets where the label filter changes its plan, for the
// tests of both plans; the returned function restores it.
func SetLabelFewRows(n int64) (restore func()) {
	old := labelFewRows
	labelFewRows = n
	return func() { labelFewRows = old }
}
