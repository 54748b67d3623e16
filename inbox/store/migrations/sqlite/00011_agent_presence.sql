-- Agents' presence, shared by every replica: one row per live event stream
-- (refreshed by the replica serving it, expiring on its own when that
-- replica dies), and one row per agent with what they said (away,
-- offline) and the presence last announced.

-- +goose Up
CREATE TABLE `agent_streams` (`id` text,`agent` text NOT NULL,`expires_at` datetime NOT NULL,PRIMARY KEY (`id`));
CREATE INDEX `idx_agent_streams_agent` ON `agent_streams`(`agent`,`expires_at`);
CREATE TABLE `agent_presence` (`agent` text,`status` text NOT NULL DEFAULT '',`presence` text NOT NULL DEFAULT 'offline',`updated_at` datetime,PRIMARY KEY (`agent`));

-- +goose Down
DROP TABLE `agent_presence`;
DROP INDEX `idx_agent_streams_agent`;
DROP TABLE `agent_streams`;
