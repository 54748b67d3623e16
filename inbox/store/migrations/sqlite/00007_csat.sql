-- The customer's rating after an agent resolved a conversation: the score,
-- the optional comment and when; what the customer was last asked (the
-- score, or anything to add) and until when their answer counts.

-- +goose Up
ALTER TABLE `conversations` ADD COLUMN `csat_score` integer;
ALTER TABLE `conversations` ADD COLUMN `csat_comment` text;
ALTER TABLE `conversations` ADD COLUMN `csat_at` datetime;
ALTER TABLE `conversations` ADD COLUMN `csat_stage` text NOT NULL DEFAULT '';
ALTER TABLE `conversations` ADD COLUMN `csat_until` datetime;

-- +goose Down
ALTER TABLE `conversations` DROP COLUMN `csat_until`;
ALTER TABLE `conversations` DROP COLUMN `csat_stage`;
ALTER TABLE `conversations` DROP COLUMN `csat_at`;
ALTER TABLE `conversations` DROP COLUMN `csat_comment`;
ALTER TABLE `conversations` DROP COLUMN `csat_score`;
