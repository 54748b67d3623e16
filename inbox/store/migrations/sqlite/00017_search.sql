-- Text search through the store's own index: FTS5 tables with the trigram
-- tokenizer (any three characters, so Chinese, which has no spaces between
-- words, is found as well as English) over message texts and contact
-- names (a conversation's subject is one of its messages' texts). Each is
-- an external-content table (the text lives once, in its own table). Every
-- message is indexed, private notes and the bot's and system's messages
-- included: search is for agents, as before.
--
-- FTS5 writes what it holds in memory to disk at the start of every later
-- statement of the transaction, so indexing each row as it is inserted
-- would write a tiny index segment per statement of a group commit (a
-- quarter of ingest's CPU, measured), and even a trigger noting each new
-- row costs ingest a sixth more. Rows get ever larger ids (one writer), so
-- search_indexed records up to which id each table is indexed; the store
-- indexes the rows beyond it with one statement every thousand or so
-- inbounds, at the end of a group commit, and search reads those few rows
-- directly, so nothing written is missed meanwhile. A change or deletion
-- of an indexed row is applied to the index at once by a trigger (they are
-- rare). The rebuilds index the rows already stored.

-- +goose Up
CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', tokenize='trigram');
CREATE VIRTUAL TABLE contacts_fts USING fts5(name, content='contacts', content_rowid='id', tokenize='trigram');
CREATE TABLE `search_indexed` (`tbl` text NOT NULL,`upto` integer NOT NULL,PRIMARY KEY (`tbl`));

-- +goose StatementBegin
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
WHEN old.text IS NOT new.text AND old.id <= (SELECT upto FROM search_indexed WHERE tbl = 'messages') BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
	INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.id <= (SELECT upto FROM search_indexed WHERE tbl = 'messages') BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name ON contacts
WHEN old.name IS NOT new.name AND old.id <= (SELECT upto FROM search_indexed WHERE tbl = 'contacts') BEGIN
	INSERT INTO contacts_fts (contacts_fts, rowid, name) VALUES ('delete', old.id, old.name);
	INSERT INTO contacts_fts (rowid, name) VALUES (new.id, new.name);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts
WHEN old.id <= (SELECT upto FROM search_indexed WHERE tbl = 'contacts') BEGIN
	INSERT INTO contacts_fts (contacts_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
-- +goose StatementEnd

INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
INSERT INTO contacts_fts (contacts_fts) VALUES ('rebuild');
INSERT INTO search_indexed (tbl, upto) SELECT 'messages', COALESCE(MAX(id), 0) FROM messages;
INSERT INTO search_indexed (tbl, upto) SELECT 'contacts', COALESCE(MAX(id), 0) FROM contacts;

-- The conversation list by a filter, newest activity first: an index per
-- filter that leads with it and then holds the list's order, so a page is
-- read in order from the filter's entries instead of sorting every match
-- (they replace the indexes on the filter alone).
CREATE INDEX idx_conversations_status_activity ON conversations (status, last_message_at, id);
CREATE INDEX idx_conversations_assignee_activity ON conversations (assignee, last_message_at, id);
CREATE INDEX idx_conversations_team_activity ON conversations (team, last_message_at, id);
CREATE INDEX idx_conversations_priority_activity ON conversations (priority, last_message_at, id);
DROP INDEX idx_conversations_status;
DROP INDEX idx_conversations_assignee;
DROP INDEX idx_conversations_team;

-- +goose Down
CREATE INDEX idx_conversations_team ON conversations (team);
CREATE INDEX idx_conversations_assignee ON conversations (assignee);
CREATE INDEX idx_conversations_status ON conversations (status);
DROP INDEX idx_conversations_priority_activity;
DROP INDEX idx_conversations_team_activity;
DROP INDEX idx_conversations_assignee_activity;
DROP INDEX idx_conversations_status_activity;
DROP TRIGGER contacts_fts_delete;
DROP TRIGGER contacts_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TABLE search_indexed;
DROP TABLE contacts_fts;
DROP TABLE messages_fts;
