-- Reactions on the event log: what an event carries for them beyond its
-- API payload, and each reaction's cursor and lease.

-- +goose Up
ALTER TABLE `events` ADD `detail` text;
CREATE TABLE `reaction_cursors` (`name` text,`position` integer NOT NULL,`owner` text NOT NULL DEFAULT "",`lease_until` datetime,`updated_at` datetime,PRIMARY KEY (`name`));

-- +goose Down
DROP TABLE `reaction_cursors`;
ALTER TABLE `events` DROP COLUMN `detail`;
