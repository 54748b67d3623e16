-- The length of the human queue, kept by a trigger, so that a conversation
-- just handed over learns its place without counting the whole queue: its
-- place is the length less those after it (none, for the newest). A
-- conversation waits for a human when it is not resolved, was handed over
-- (handoff_at) and has no assignee: the predicate of idx_conversations_queue.
-- Only handoffs, assignments and resolves of waiting conversations write
-- the counter row (never ingest's inserts and touches).

-- +goose Up
CREATE TABLE queue_stats (id integer PRIMARY KEY CHECK (id = 1), waiting bigint NOT NULL);
INSERT INTO queue_stats (id, waiting) SELECT 1, COUNT(*) FROM conversations WHERE status <> 'resolved' AND handoff_at IS NOT NULL AND COALESCE(assignee, '') = '';

-- +goose StatementBegin
CREATE FUNCTION conversations_queue_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  d integer := 0;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status <> 'resolved' AND OLD.handoff_at IS NOT NULL AND COALESCE(OLD.assignee, '') = '' THEN
    d := d - 1;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status <> 'resolved' AND NEW.handoff_at IS NOT NULL AND COALESCE(NEW.assignee, '') = '' THEN
    d := d + 1;
  END IF;
  IF d <> 0 THEN
    UPDATE queue_stats SET waiting = waiting + d WHERE id = 1;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER conversations_queue AFTER INSERT OR DELETE OR UPDATE OF status, handoff_at, assignee ON conversations
FOR EACH ROW EXECUTE FUNCTION conversations_queue_count();

-- +goose Down
DROP TRIGGER conversations_queue ON conversations;
DROP FUNCTION conversations_queue_count();
DROP TABLE queue_stats;
