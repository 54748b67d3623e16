-- Text search through the store's own index: pg_trgm GIN indexes over the
-- lower-cased message texts and contact names (a conversation's subject is
-- one of its messages' texts), which
-- answer LOWER(x) LIKE '%…%' (any three characters, so Chinese is found as
-- well as English; with a database whose character type knows letters
-- beyond ASCII, e.g. C.UTF-8 or en_US.UTF-8). PostgreSQL keeps them in step
-- on every write; creating them indexes the rows already stored. Every
-- message is indexed, private notes and the bot's and system's messages
-- included: search is for agents, as before. pg_trgm is a trusted
-- extension: the database's owner may create it.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX idx_messages_text_trgm ON messages USING gin (LOWER(text) gin_trgm_ops);
CREATE INDEX idx_contacts_name_trgm ON contacts USING gin (LOWER(name) gin_trgm_ops);

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
-- The unfiltered list in order to the last key (SQLite's index entries
-- end with the row id already).
CREATE INDEX idx_conversations_activity ON conversations (last_message_at, id);
DROP INDEX idx_conversations_last_message_at;
-- A timeline page in id order from the index (SQLite's index entries end
-- with the row id already).
CREATE INDEX idx_messages_conversation_timeline ON messages (conversation_id, id);
DROP INDEX idx_messages_conversation_id;

-- +goose Down
CREATE INDEX idx_conversations_last_message_at ON conversations (last_message_at);
DROP INDEX idx_conversations_activity;
CREATE INDEX idx_messages_conversation_id ON messages (conversation_id);
DROP INDEX idx_messages_conversation_timeline;
CREATE INDEX idx_conversations_team ON conversations (team);
CREATE INDEX idx_conversations_assignee ON conversations (assignee);
CREATE INDEX idx_conversations_status ON conversations (status);
DROP INDEX idx_conversations_priority_activity;
DROP INDEX idx_conversations_team_activity;
DROP INDEX idx_conversations_assignee_activity;
DROP INDEX idx_conversations_status_activity;
DROP INDEX idx_contacts_name_trgm;
DROP INDEX idx_messages_text_trgm;
