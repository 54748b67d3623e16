-- The questions the bot asks for every customer message, answered from
-- small indexes. Queries must spell a partial index's predicate the same
-- way, with literals, for SQLite to use it.
--
-- Agents' replies (not notes), per conversation: whether and when a human
-- answered, without reading every message of the conversation.
-- The human queue's index gains the columns its predicate reads, so that a
-- queue position is counted from the index alone.

-- +goose Up
CREATE INDEX idx_messages_agent_replies ON messages (conversation_id, created_at) WHERE sender_type = 'agent' AND private = false;
DROP INDEX idx_conversations_queue;
CREATE INDEX idx_conversations_queue ON conversations (handoff_at, id, status, assignee) WHERE status <> 'resolved' AND handoff_at IS NOT NULL AND COALESCE(assignee, '') = '';

-- +goose Down
DROP INDEX idx_conversations_queue;
CREATE INDEX idx_conversations_queue ON conversations (handoff_at, id) WHERE status <> 'resolved' AND handoff_at IS NOT NULL AND COALESCE(assignee, '') = '';
DROP INDEX idx_messages_agent_replies;
