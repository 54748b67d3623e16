-- Teams' queues: a conversation with a team, no assignee and not resolved
-- waits in its team's queue, ordered by priority then age. The waiting
-- conversations per team and priority are kept by a trigger, so that a
-- conversation's place is a sum of counters less those of its priority
-- created after it (none, for a new conversation), read from the partial
-- index: never a count of the whole queue. Ingest creates conversations
-- without a team, so it never writes these rows.

-- +goose Up
CREATE TABLE team_queue_stats (team text NOT NULL, priority text NOT NULL, waiting bigint NOT NULL, PRIMARY KEY (team, priority));
INSERT INTO team_queue_stats (team, priority, waiting)
SELECT team, priority, COUNT(*) FROM conversations
WHERE COALESCE(team, '') <> '' AND COALESCE(assignee, '') = '' AND status <> 'resolved' GROUP BY team, priority;
CREATE INDEX idx_conversations_team_queue ON conversations (team, priority, created_at, id)
WHERE COALESCE(team, '') <> '' AND COALESCE(assignee, '') = '' AND status <> 'resolved';

-- +goose StatementBegin
CREATE FUNCTION conversations_team_queue_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (COALESCE(OLD.team, '') <> '' AND COALESCE(OLD.assignee, '') = '' AND OLD.status <> 'resolved') = (COALESCE(NEW.team, '') <> '' AND COALESCE(NEW.assignee, '') = '' AND NEW.status <> 'resolved') AND OLD.team IS NOT DISTINCT FROM NEW.team AND OLD.priority = NEW.priority THEN
    RETURN NULL; -- the same place in the same queue, or in none
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND COALESCE(OLD.team, '') <> '' AND COALESCE(OLD.assignee, '') = '' AND OLD.status <> 'resolved' THEN
    UPDATE team_queue_stats SET waiting = waiting - 1 WHERE team = OLD.team AND priority = OLD.priority;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') AND COALESCE(NEW.team, '') <> '' AND COALESCE(NEW.assignee, '') = '' AND NEW.status <> 'resolved' THEN
    INSERT INTO team_queue_stats (team, priority, waiting) VALUES (NEW.team, NEW.priority, 1)
    ON CONFLICT (team, priority) DO UPDATE SET waiting = team_queue_stats.waiting + 1;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER conversations_team_queue AFTER INSERT OR DELETE OR UPDATE OF team, priority, assignee, status ON conversations
FOR EACH ROW EXECUTE FUNCTION conversations_team_queue_count();

-- +goose Down
DROP TRIGGER conversations_team_queue ON conversations;
DROP FUNCTION conversations_team_queue_count();
DROP INDEX idx_conversations_team_queue;
DROP TABLE team_queue_stats;
