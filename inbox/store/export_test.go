package store

import "context"

// The reactions' per-message questions, for the plan test.
const (
	SQLBotState      = sqlBotState
	SQLQueuePosition = sqlQueuePosition
)

var SQLTeamQueuePosition = sqlTeamQueuePosition

// SetLabelFewRows sets where the label filter changes its plan, for the
// tests of both plans; the returned function restores it.
func SetLabelFewRows(n int64) (restore func()) {
	old := labelFewRows
	labelFewRows = n
	return func() { labelFewRows = old }
}

// SetTeamQueueAnchorSlack sets how many rows a team queue place counts
// before its queue's anchor moves; the returned function restores it.
func SetTeamQueueAnchorSlack(n int64) (restore func()) {
	old := teamQueueAnchorSlack
	teamQueueAnchorSlack = n
	return func() { teamQueueAnchorSlack = old }
}

// SetSearchLimits sets where text search leaves its index for a scan in
// list order and how many conversations a scan tests per page; the
// returned function restores them.
func SetSearchLimits(fewHits int64, window int) (restore func()) {
	oldFew, oldWindow := searchFewHits, searchWindow
	searchFewHits, searchWindow = fewHits, window
	return func() { searchFewHits, searchWindow = oldFew, oldWindow }
}

// SearchIndexed tells whether text search answers query from its index.
func (s *Store) SearchIndexed(ctx context.Context, query string) (bool, error) {
	h, err := s.findInIndex(ctx, query)
	return h != nil, err
}

// SetSearchIndexEvery sets how many inbounds pass before a group commit
// indexes the rows noted for search (SQLite); the returned function
// restores it.
func SetSearchIndexEvery(n int64) (restore func()) {
	old := searchIndexEvery
	searchIndexEvery = n
	return func() { searchIndexEvery = old }
}
