-- Text search through the store's own index: pg_trgm GIN indexes over the
-- lower-cased message texts, conversation subjects and contact names, which
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
CREATE INDEX idx_conversations_subject_trgm ON conversations USING gin (LOWER(subject) gin_trgm_ops);
CREATE INDEX idx_contacts_name_trgm ON contacts USING gin (LOWER(name) gin_trgm_ops);

-- +goose Down
DROP INDEX idx_contacts_name_trgm;
DROP INDEX idx_conversations_subject_trgm;
DROP INDEX idx_messages_text_trgm;
