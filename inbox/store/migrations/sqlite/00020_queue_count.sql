-- The length of the human queue, kept by triggers, so that a conversation
-- just handed over learns its place without counting the whole queue: its
-- place is the length less those after it (none, for the newest). A
-- conversation waits for a human when it is not resolved, was handed over
-- (handoff_at) and has no assignee: the predicate of idx_conversations_queue.

-- +goose Up
CREATE TABLE queue_stats (id integer PRIMARY KEY CHECK (id = 1), waiting integer NOT NULL);
INSERT INTO queue_stats (id, waiting) SELECT 1, COUNT(*) FROM conversations WHERE status <> 'resolved' AND handoff_at IS NOT NULL AND COALESCE(assignee, '') = '';
CREATE TRIGGER conversations_queue_insert AFTER INSERT ON conversations
WHEN NEW.status <> 'resolved' AND NEW.handoff_at IS NOT NULL AND COALESCE(NEW.assignee, '') = ''
BEGIN UPDATE queue_stats SET waiting = waiting + 1 WHERE id = 1; END;
CREATE TRIGGER conversations_queue_delete AFTER DELETE ON conversations
WHEN OLD.status <> 'resolved' AND OLD.handoff_at IS NOT NULL AND COALESCE(OLD.assignee, '') = ''
BEGIN UPDATE queue_stats SET waiting = waiting - 1 WHERE id = 1; END;
CREATE TRIGGER conversations_queue_update AFTER UPDATE OF status, handoff_at, assignee ON conversations
WHEN (OLD.status <> 'resolved' AND OLD.handoff_at IS NOT NULL AND COALESCE(OLD.assignee, '') = '') <>
     (NEW.status <> 'resolved' AND NEW.handoff_at IS NOT NULL AND COALESCE(NEW.assignee, '') = '')
BEGIN UPDATE queue_stats SET waiting = waiting + CASE WHEN NEW.status <> 'resolved' AND NEW.handoff_at IS NOT NULL AND COALESCE(NEW.assignee, '') = '' THEN 1 ELSE -1 END WHERE id = 1; END;

-- +goose Down
DROP TRIGGER conversations_queue_update;
DROP TRIGGER conversations_queue_delete;
DROP TRIGGER conversations_queue_insert;
DROP TABLE queue_stats;
