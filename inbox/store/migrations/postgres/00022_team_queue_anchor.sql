-- Anchors in the teams' queues: a waiting conversation's place is the
-- conversations waiting in its team up to its priority (team_queue_stats)
-- less those of its priority after it in the queue; while the assignment
-- reaction lags behind routing, those after it are the whole tail that
-- arrived since, and counting them made each place cost the backlog. Each
-- (team, priority) now keeps an anchor, a place in its queue (created_at,
-- id: the queue's order), and how many waiting conversations come after
-- it, kept by the trigger; a place is counted from the anchor, which the
-- assignment moves along as it goes: a few rows, whatever the backlog.

-- +goose Up
ALTER TABLE team_queue_stats ADD COLUMN anchor_created_at timestamptz, ADD COLUMN anchor_id bigint,
  ADD COLUMN anchor_after bigint NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION conversations_team_queue_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (COALESCE(OLD.team, '') <> '' AND COALESCE(OLD.assignee, '') = '' AND OLD.status <> 'resolved') = (COALESCE(NEW.team, '') <> '' AND COALESCE(NEW.assignee, '') = '' AND NEW.status <> 'resolved') AND OLD.team IS NOT DISTINCT FROM NEW.team AND OLD.priority = NEW.priority THEN
    RETURN NULL; -- the same place in the same queue, or in none
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND COALESCE(OLD.team, '') <> '' AND COALESCE(OLD.assignee, '') = '' AND OLD.status <> 'resolved' THEN
    UPDATE team_queue_stats SET waiting = waiting - 1,
      anchor_after = anchor_after - CASE WHEN (OLD.created_at, OLD.id) > (anchor_created_at, anchor_id) THEN 1 ELSE 0 END
    WHERE team = OLD.team AND priority = OLD.priority;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') AND COALESCE(NEW.team, '') <> '' AND COALESCE(NEW.assignee, '') = '' AND NEW.status <> 'resolved' THEN
    INSERT INTO team_queue_stats (team, priority, waiting) VALUES (NEW.team, NEW.priority, 1)
    ON CONFLICT (team, priority) DO UPDATE SET waiting = team_queue_stats.waiting + 1,
      anchor_after = team_queue_stats.anchor_after +
        CASE WHEN (NEW.created_at, NEW.id) > (team_queue_stats.anchor_created_at, team_queue_stats.anchor_id) THEN 1 ELSE 0 END;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION conversations_team_queue_count() RETURNS trigger LANGUAGE plpgsql AS $$
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
ALTER TABLE team_queue_stats DROP COLUMN anchor_after, DROP COLUMN anchor_id, DROP COLUMN anchor_created_at;
