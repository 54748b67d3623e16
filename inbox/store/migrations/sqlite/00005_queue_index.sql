-- The human queue: the conversations waiting for a human, in order, so a
-- queue position is counted from this index alone.

-- +goose Up
CREATE INDEX idx_conversations_queue ON conversations (handoff_at, id) WHERE status <> 'resolved' AND handoff_at IS NOT NULL AND COALESCE(assignee, '') = '';

-- +goose Down
DROP INDEX idx_conversations_queue;
