package store

// The reactions' per-message questions, for the plan test.
const (
	SQLBotState          = sqlBotState
	SQLQueuePosition     = sqlQueuePosition
	SQLTeamQueuePosition = sqlTeamQueuePosition
)

// SetLabelFewRows sets where the label filter changes its plan, for the
// tests of both plans; the returned function restores it.
func SetLabelFewRows(n int64) (restore func()) {
	old := labelFewRows
	labelFewRows = n
	return func() { labelFewRows = old }
}
