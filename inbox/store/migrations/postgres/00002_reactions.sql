-- Reactions on the event log: what an event carries for them beyond its
-- API payload, and each reaction's cursor and lease.

-- +goose Up
ALTER TABLE events ADD COLUMN detail text;
CREATE TABLE reaction_cursors (
    name varchar(100) PRIMARY KEY,
    position bigint NOT NULL,
    owner varchar(100) NOT NULL DEFAULT '',
    lease_until timestamptz,
    updated_at timestamptz
);

-- +goose Down
DROP TABLE reaction_cursors;
ALTER TABLE events DROP COLUMN detail;
