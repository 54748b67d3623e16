-- Anchors in the teams' queues: a waiting conversation's place is the
-- conversations waiting in its team up to its priority (team_queue_stats)
-- less those of its priority after it in the queue; while the assignment
-- reaction lags behind routing, those after it are the whole tail that
-- arrived since, and counting them made each place cost the backlog. Each
-- (team, priority) now keeps an anchor, a place in its queue (created_at,
-- id: the queue's order), and how many waiting conversations come after
-- it, kept by the triggers; a place is counted from the anchor, which the
-- assignment moves along as it goes: a few rows, whatever the backlog.
-- The queue's index holds the columns of its predicate too, so that those
-- rows are counted from the index alone (as idx_conversations_queue does).

-- +goose Up
ALTER TABLE team_queue_stats ADD COLUMN anchor_created_at datetime;
ALTER TABLE team_queue_stats ADD COLUMN anchor_id integer;
ALTER TABLE team_queue_stats ADD COLUMN anchor_after integer NOT NULL DEFAULT 0;
DROP INDEX idx_conversations_team_queue;
CREATE INDEX idx_conversations_team_queue ON conversations (team, priority, created_at, id, assignee, status)
WHERE COALESCE(team, '') <> '' AND COALESCE(assignee, '') = '' AND status <> 'resolved';
DROP TRIGGER conversations_team_queue_insert;
DROP TRIGGER conversations_team_queue_delete;
DROP TRIGGER conversations_team_queue_update_old;
DROP TRIGGER conversations_team_queue_update_new;
-- +goose StatementBegin
CREATE TRIGGER conversations_team_queue_insert AFTER INSERT ON conversations
WHEN COALESCE(NEW.team, '') <> '' AND COALESCE(NEW.assignee, '') = '' AND NEW.status <> 'resolved'
BEGIN
  INSERT INTO team_queue_stats (team, priority, waiting) VALUES (NEW.team, NEW.priority, 1)
  ON CONFLICT (team, priority) DO UPDATE SET waiting = waiting + 1,
    anchor_after = anchor_after + CASE WHEN (NEW.created_at, NEW.id) > (anchor_created_at, anchor_id) THEN 1 ELSE 0 END;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER conversations_team_queue_delete AFTER DELETE ON conversations
WHEN COALESCE(OLD.team, '') <> '' AND COALESCE(OLD.assignee, '') = '' AND OLD.status <> 'resolved'
BEGIN
  UPDATE team_queue_stats SET waiting = waiting - 1,
    anchor_after = anchor_after - CASE WHEN (OLD.created_at, OLD.id) > (anchor_created_at, anchor_id) THEN 1 ELSE 0 END
  WHERE team = OLD.team AND priority = OLD.priority;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER conversations_team_queue_update_old AFTER UPDATE OF team, priority, assignee, status ON conversations
WHEN COALESCE(OLD.team, '') <> '' AND COALESCE(OLD.assignee, '') = '' AND OLD.status <> 'resolved' AND NOT (COALESCE(NEW.team, '') <> '' AND COALESCE(NEW.assignee, '') = '' AND NEW.status <> 'resolved' AND OLD.team = NEW.team AND OLD.priority = NEW.priority)
BEGIN
  UPDATE team_queue_stats SET waiting = waiting - 1,
    anchor_after = anchor_after - CASE WHEN (OLD.created_at, OLD.id) > (anchor_created_at, anchor_id) THEN 1 ELSE 0 END
  WHERE team = OLD.team AND priority = OLD.priority;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER conversations_team_queue_update_new AFTER UPDATE OF team, priority, assignee, status ON conversations
WHEN COALESCE(NEW.team, '') <> '' AND COALESCE(NEW.assignee, '') = '' AND NEW.status <> 'resolved' AND NOT (COALESCE(OLD.team, '') <> '' AND COALESCE(OLD.assignee, '') = '' AND OLD.status <> 'resolved' AND OLD.team = NEW.team AND OLD.priority = NEW.priority)
BEGIN
  INSERT INTO team_queue_stats (team, priority, waiting) VALUES (NEW.team, NEW.priority, 1)
  ON CONFLICT (team, priority) DO UPDATE SET waiting = waiting + 1,
    anchor_after = anchor_after + CASE WHEN (NEW.created_at, NEW.id) > (anchor_created_at, anchor_id) THEN 1 ELSE 0 END;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER conversations_team_queue_update_new;
DROP TRIGGER conversations_team_queue_update_old;
DROP TRIGGER conversations_team_queue_delete;
DROP TRIGGER conversations_team_queue_insert;
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
DROP INDEX idx_conversations_team_queue;
CREATE INDEX idx_conversations_team_queue ON conversations (team, priority, created_at, id)
WHERE COALESCE(team, '') <> '' AND COALESCE(assignee, '') = '' AND status <> 'resolved';
ALTER TABLE team_queue_stats DROP COLUMN anchor_after;
ALTER TABLE team_queue_stats DROP COLUMN anchor_id;
ALTER TABLE team_queue_stats DROP COLUMN anchor_created_at;
