-- Teams' queues: a conversation with a team, no assignee and not resolved
-- waits in its team's queue, ordered by priority then age. The waiting
-- conversations per team and priority are kept by triggers, so that a
-- conversation's place is a sum of counters less those of its priority
-- created after it (none, for a new conversation), read from the partial
-- index: never a count of the whole queue.

-- +goose Up
CREATE TABLE team_queue_stats (team text NOT NULL, priority text NOT NULL, waiting integer NOT NULL, PRIMARY KEY (team, priority));
INSERT INTO team_queue_stats (team, priority, waiting)
SELECT team, priority, COUNT(*) FROM conversations
WHERE COALESCE(team, '') <> '' AND COALESCE(assignee, '') = '' AND status <> 'resolved' GROUP BY team, priority;
CREATE INDEX idx_conversations_team_queue ON conversations (team, priority, created_at, id)
WHERE COALESCE(team, '') <> '' AND COALESCE(assignee, '') = '' AND status <> 'resolved';
-- +goose StatementBegin
CREATE TRIGGER conversations_team_queue_insert AFTER INSERT ON conversations
WHEN COALESCE(NEW.team, '') <> '' AND COALESCE(NEW.assignee, '') = '' AND NEW.status <> 'resolved'
BEGIN
  INSERT INTO team_queue_stats (team, priority, waiting) VALUES (NEW.team, NEW.priority, 1)
  ON CONFLICT (team, priority) DO UPDATE SET waiting = waiting + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER conversations_team_queue_delete AFTER DELETE ON conversations
WHEN COALESCE(OLD.team, '') <> '' AND COALESCE(OLD.assignee, '') = '' AND OLD.status <> 'resolved'
BEGIN
  UPDATE team_queue_stats SET waiting = waiting - 1 WHERE team = OLD.team AND priority = OLD.priority;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER conversations_team_queue_update_old AFTER UPDATE OF team, priority, assignee, status ON conversations
WHEN COALESCE(OLD.team, '') <> '' AND COALESCE(OLD.assignee, '') = '' AND OLD.status <> 'resolved' AND NOT (COALESCE(NEW.team, '') <> '' AND COALESCE(NEW.assignee, '') = '' AND NEW.status <> 'resolved' AND OLD.team = NEW.team AND OLD.priority = NEW.priority)
BEGIN
  UPDATE team_queue_stats SET waiting = waiting - 1 WHERE team = OLD.team AND priority = OLD.priority;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER conversations_team_queue_update_new AFTER UPDATE OF team, priority, assignee, status ON conversations
WHEN COALESCE(NEW.team, '') <> '' AND COALESCE(NEW.assignee, '') = '' AND NEW.status <> 'resolved' AND NOT (COALESCE(OLD.team, '') <> '' AND COALESCE(OLD.assignee, '') = '' AND OLD.status <> 'resolved' AND OLD.team = NEW.team AND OLD.priority = NEW.priority)
BEGIN
  INSERT INTO team_queue_stats (team, priority, waiting) VALUES (NEW.team, NEW.priority, 1)
  ON CONFLICT (team, priority) DO UPDATE SET waiting = waiting + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER conversations_team_queue_update_new;
DROP TRIGGER conversations_team_queue_update_old;
DROP TRIGGER conversations_team_queue_delete;
DROP TRIGGER conversations_team_queue_insert;
DROP INDEX idx_conversations_team_queue;
DROP TABLE team_queue_stats;
