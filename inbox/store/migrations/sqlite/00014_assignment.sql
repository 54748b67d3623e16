-- Automatic assignment: when each agent was last given a conversation, so
-- that agents with the same load take turns (round-robin that holds across
-- replicas, being a row).

-- +goose Up
ALTER TABLE `agent_presence` ADD COLUMN `last_assigned_at` datetime;

-- +goose Down
ALTER TABLE `agent_presence` DROP COLUMN `last_assigned_at`;
