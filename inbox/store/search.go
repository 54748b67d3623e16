package store

import (
	"context"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/tongdao/hub/models"
)

// Text search (the list filter q): a conversation matches when q occurs,
// ignoring case, in its subject, its contact's name or the text of any of
// its messages (private notes and the bot's and system's messages
// included). Migration 17 indexes the messages' texts and the contacts'
// names by trigrams: FTS5 tables on SQLite, pg_trgm GIN indexes on
// PostgreSQL. The plan depends on how many texts contain q, like the
// label filter's:
//
//   - q of at least searchMinRunes characters found in fewer than
//     searchFewHits texts: the matching conversations are read from the
//     index, and the page is the newest of them; every page is full.
//   - q found in more texts (a common word): the conversations are read
//     in list order, testing each, where matches come soon.
//   - q shorter than the trigram index's three characters: the index
//     cannot answer it, and the conversations are read in list order too.
//
// Reading in list order examines at most searchWindow conversations per
// page (after the other filters), so a rare short q costs a bounded scan,
// not the whole table: a page may then hold fewer than limit
// conversations, or none, with a next_cursor to read on from.
const searchMinRunes = 3

var (
	searchFewHits int64 = 2000
	searchWindow        = 2000
	// searchIndexEvery is how many inbounds pass, on SQLite, before a group
	// commit indexes the rows noted for the search index: each time FTS5
	// writes a segment and merges some, which costs about as much for 30
	// rows as for 1,000, while search reads the rows not yet indexed with a
	// LIKE (under a millisecond for 1,000).
	searchIndexEvery int64 = 1000
)

// searchHits are the ids of the texts that hold q, read from the indexes:
// messages and contacts.
type searchHits struct {
	messages, contacts []int64
}

// findInIndex reads, from the indexes, the ids of up to searchFewHits texts
// that contain query; nil when the index cannot answer (a short query) or
// the texts are that many (a common word): then the list is scanned.
func (s *Store) findInIndex(ctx context.Context, query string) (*searchHits, error) {
	if utf8.RuneCountInString(query) < searchMinRunes {
		return nil, nil
	}
	h := &searchHits{}
	db := s.Read.WithContext(ctx)
	var err error
	if s.Driver == DriverPostgres {
		like := likePattern(query)
		err = db.Raw(`SELECT id FROM messages WHERE LOWER(text) LIKE ? ESCAPE '\' LIMIT ?`, like, searchFewHits).Scan(&h.messages).Error
		if err == nil {
			err = db.Raw(`SELECT id FROM contacts WHERE LOWER(name) LIKE ? ESCAPE '\' LIMIT ?`, like, searchFewHits).Scan(&h.contacts).Error
		}
	} else {
		phrase := ftsPhrase(query)
		err = db.Raw(`SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? LIMIT ?`, phrase, searchFewHits).Scan(&h.messages).Error
		if err == nil {
			err = db.Raw(`SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ? LIMIT ?`, phrase, searchFewHits).Scan(&h.contacts).Error
		}
	}
	if err != nil || int64(len(h.messages)+len(h.contacts)) >= searchFewHits {
		return nil, err
	}
	return h, nil
}

// whereSearchIndexed restricts q to the conversations of the texts found
// in the index. A subject is the text of the conversation's first message,
// so the messages' index finds it.
func (s *Store) whereSearchIndexed(q *gorm.DB, query string, h *searchHits) *gorm.DB {
	if s.Driver == DriverPostgres {
		return q.Where(`conversations.id IN (SELECT m.conversation_id FROM messages m WHERE m.id IN ?
	UNION ALL SELECT x.id FROM conversations x WHERE x.contact_id IN ?)`, nonEmpty(h.messages), nonEmpty(h.contacts))
	}
	// NOT INDEXED leaves SQLite (which has no statistics to tell that the
	// matches are few) only the row ids: the page is read from the matches,
	// never by walking another filter's index and testing each row. Rows
	// beyond search_indexed's ids are not indexed yet: a few, read directly.
	// UNION ALL, not UNION: IN ignores duplicates, and UNION's merge made
	// SQLite read the messages in conversation order.
	like := likePattern(query)
	return q.Table("`conversations` NOT INDEXED").Where(`conversations.id IN (
	SELECT m.conversation_id FROM messages m WHERE m.id IN ?
	UNION ALL SELECT m.conversation_id FROM messages m WHERE m.id > (SELECT upto FROM search_indexed WHERE tbl = 'messages')
		AND LOWER(m.text) LIKE ? ESCAPE '\'
	UNION ALL SELECT x.id FROM conversations x WHERE x.contact_id IN ?
	UNION ALL SELECT x.id FROM conversations x WHERE x.contact_id IN (SELECT c.id FROM contacts c
		WHERE c.id > (SELECT upto FROM search_indexed WHERE tbl = 'contacts') AND LOWER(c.name) LIKE ? ESCAPE '\'))`,
		nonEmpty(h.messages), like, nonEmpty(h.contacts), like)
}

// nonEmpty makes an empty id list one that matches nothing (0 is never an
// id), for IN.
func nonEmpty(ids []int64) []int64 {
	if len(ids) == 0 {
		return []int64{0}
	}
	return ids
}

// indexPending indexes, on SQLite, the rows beyond the ids search_indexed
// records: one statement per table, at the end of a group commit, every
// searchIndexEvery inbounds (see migration 17).
func (s *Store) indexPending(tx *gorm.DB) error {
	if s.Driver != DriverSQLite {
		return nil
	}
	for _, q := range []string{
		`INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages WHERE id > (SELECT upto FROM search_indexed WHERE tbl = 'messages')`,
		`INSERT INTO contacts_fts (rowid, name) SELECT id, name FROM contacts WHERE id > (SELECT upto FROM search_indexed WHERE tbl = 'contacts')`,
		`UPDATE search_indexed SET upto = (SELECT COALESCE(MAX(id), 0) FROM messages) WHERE tbl = 'messages'`,
		`UPDATE search_indexed SET upto = (SELECT COALESCE(MAX(id), 0) FROM contacts) WHERE tbl = 'contacts'`,
	} {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}

// sqlSearchScan tests one conversation (w, a window of the list) of a scan
// in list order. Scalar subqueries, not EXISTS: PostgreSQL may turn an
// EXISTS into one hashed pass over every message that matches (all of
// them read, for a query the index cannot help), where a scalar subquery
// reads only the window's conversations' messages. And appending an empty
// string keeps the trigram indexes out: a plan made for any pattern (PostgreSQL's generic
// plan of a prepared statement, used after a few executions) otherwise
// intersects each conversation's messages with the index's matches, which
// for a short pattern is the whole index, once per conversation.
const sqlSearchScan = `(LOWER(w.subject) LIKE ? ESCAPE '\'
	OR (SELECT 1 FROM contacts c WHERE c.id = w.contact_id AND LOWER(c.name) || '' LIKE ? ESCAPE '\') = 1
	OR (SELECT 1 FROM messages m WHERE m.conversation_id = w.id AND LOWER(m.text) || '' LIKE ? ESCAPE '\' LIMIT 1) = 1)`

// searchScanPage reads a page of the conversations of base (the list
// query with every other filter and the cursor) that match query, testing
// at most searchWindow of them in list order. When the window ends before
// the page is full, next is the position after the window's last
// conversation.
func (s *Store) searchScanPage(ctx context.Context, base *gorm.DB, query string, limit int) (convs []models.Conversation, next string, err error) {
	like := likePattern(query)
	window := base.Session(&gorm.Session{}).Order("last_message_at DESC, id DESC").Limit(searchWindow)
	scan := func(db *gorm.DB) error {
		return db.Table("(?) AS w", window).Where(sqlSearchScan, like, like, like).
			Order("last_message_at DESC, id DESC").Limit(limit + 1).Find(&convs).Error
	}
	if s.Driver == DriverPostgres {
		// PostgreSQL prices the window's subqueries as if every one ran and
		// compiles such a query to machine code first (JIT, above a cost of
		// 100,000): 20 ms of compiling for a query that runs in one.
		err = s.Read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SET LOCAL jit = off").Error; err != nil {
				return err
			}
			return scan(tx)
		})
	} else {
		err = scan(s.Read.WithContext(ctx))
	}
	if err != nil || len(convs) > limit {
		return convs, "", err
	}
	var last []models.Conversation
	if err := base.Session(&gorm.Session{}).Select("id", "last_message_at").Order("last_message_at DESC, id DESC").
		Offset(searchWindow - 1).Limit(1).Find(&last).Error; err != nil {
		return nil, "", err
	}
	if len(last) == 1 {
		next = encodeCursor(last[0].LastMessageAt, last[0].ID)
	}
	return convs, next, nil
}

// likePattern is a LIKE pattern for text holding query, lower-cased.
func likePattern(query string) string {
	return "%" + strings.ToLower(escapeLike(query)) + "%"
}

// ftsPhrase quotes query as one FTS5 phrase: with the trigram tokenizer, a
// phrase matches where its characters occur in a row, ignoring case.
func ftsPhrase(query string) string {
	return `"` + strings.ReplaceAll(query, `"`, `""`) + `"`
}
