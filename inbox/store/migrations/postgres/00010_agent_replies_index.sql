-- Agents' replies (not notes), per conversation: whether and when a human
-- answered is read from this small index, not from every message of the
-- conversation (the bot asks it for every customer message). Queries must
-- spell the predicate the same way, with literals, for SQLite to use it.

-- +goose Up
CREATE INDEX idx_messages_agent_replies ON messages (conversation_id, created_at) WHERE sender_type = 'agent' AND private = false;

-- +goose Down
DROP INDEX idx_messages_agent_replies;
