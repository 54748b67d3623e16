-- The customer's journey: when a conversation entered the human queue,
-- whether the bot's answer solved it, and the FAQ entry the bot answered
-- last (never the same one twice in a row).

-- +goose Up
ALTER TABLE `conversations` ADD COLUMN `handoff_at` datetime;
ALTER TABLE `conversations` ADD COLUMN `deflected` numeric NOT NULL DEFAULT false;
ALTER TABLE `conversations` ADD COLUMN `last_faq` text;
CREATE INDEX `idx_conversations_handoff_at` ON `conversations`(`handoff_at`);

-- +goose Down
DROP INDEX `idx_conversations_handoff_at`;
ALTER TABLE `conversations` DROP COLUMN `last_faq`;
ALTER TABLE `conversations` DROP COLUMN `deflected`;
ALTER TABLE `conversations` DROP COLUMN `handoff_at`;
