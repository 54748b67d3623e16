-- Agents' presence, shared by every replica: one row per live event stream
-- (refreshed by the replica serving it, expiring on its own when that
-- replica dies), and one row per agent with what they said (away,
-- offline) and the presence last announced.

-- +goose Up
CREATE TABLE agent_streams (
    id varchar(64) PRIMARY KEY,
    agent varchar(200) NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX idx_agent_streams_agent ON agent_streams (agent, expires_at);
CREATE TABLE agent_presence (
    agent varchar(200) PRIMARY KEY,
    status varchar(20) NOT NULL DEFAULT '',
    presence varchar(20) NOT NULL DEFAULT 'offline',
    updated_at timestamptz
);

-- +goose Down
DROP TABLE agent_presence;
DROP TABLE agent_streams;
