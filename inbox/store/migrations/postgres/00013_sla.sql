-- Service-level clocks: one row per conversation and kind (first_response,
-- next_response, resolution), so timers survive restarts and fire once
-- whichever replica runs them.

-- +goose Up
CREATE TABLE sla_clocks (conversation_id bigint NOT NULL REFERENCES conversations (id), kind varchar(20) NOT NULL, started_at timestamptz NOT NULL, warn_at timestamptz NOT NULL, due_at timestamptz NOT NULL, warned boolean NOT NULL DEFAULT false, breached_at timestamptz, breaches integer NOT NULL DEFAULT 0, stopped_at timestamptz, PRIMARY KEY (conversation_id, kind));
CREATE INDEX idx_sla_clocks_running ON sla_clocks (warn_at) WHERE stopped_at IS NULL;

-- +goose Down
DROP TABLE sla_clocks;
