-- Text search through the store's own index: FTS5 tables with the trigram
-- tokenizer (any three characters, so Chinese, which has no spaces between
-- words, is found as well as English) over message texts, conversation
-- subjects and contact names. Each is an external-content table (the text
-- lives once, in its own table) kept in step by triggers, so every writer
-- (ingest's prepared statements, gorm, linking) updates it in the same
-- transaction. Every message is indexed, private notes and the bot's and
-- system's messages included: search is for agents, as before. The
-- rebuilds fill the indexes from the rows already stored.

-- +goose Up
CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', tokenize='trigram');
CREATE VIRTUAL TABLE conversations_fts USING fts5(subject, content='conversations', content_rowid='id', tokenize='trigram');
CREATE VIRTUAL TABLE contacts_fts USING fts5(name, content='contacts', content_rowid='id', tokenize='trigram');

-- +goose StatementBegin
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
	INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages WHEN old.text IS NOT new.text BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
	INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
	INSERT INTO conversations_fts (rowid, subject) VALUES (new.id, new.subject);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
	INSERT INTO conversations_fts (conversations_fts, rowid, subject) VALUES ('delete', old.id, old.subject);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF subject ON conversations WHEN old.subject IS NOT new.subject BEGIN
	INSERT INTO conversations_fts (conversations_fts, rowid, subject) VALUES ('delete', old.id, old.subject);
	INSERT INTO conversations_fts (rowid, subject) VALUES (new.id, new.subject);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
	INSERT INTO contacts_fts (rowid, name) VALUES (new.id, new.name);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
	INSERT INTO contacts_fts (contacts_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name ON contacts WHEN old.name IS NOT new.name BEGIN
	INSERT INTO contacts_fts (contacts_fts, rowid, name) VALUES ('delete', old.id, old.name);
	INSERT INTO contacts_fts (rowid, name) VALUES (new.id, new.name);
END;
-- +goose StatementEnd

INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
INSERT INTO conversations_fts (conversations_fts) VALUES ('rebuild');
INSERT INTO contacts_fts (contacts_fts) VALUES ('rebuild');

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
DROP TRIGGER contacts_fts_update;
DROP TRIGGER contacts_fts_delete;
DROP TRIGGER contacts_fts_insert;
DROP TRIGGER conversations_fts_update;
DROP TRIGGER conversations_fts_delete;
DROP TRIGGER conversations_fts_insert;
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_insert;
DROP TABLE contacts_fts;
DROP TABLE conversations_fts;
DROP TABLE messages_fts;
