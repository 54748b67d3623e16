-- Media: one row per file of a message that the hub keeps (a customer's
-- file fetched from the platform after the commit, an agent's upload),
-- its state, where its bytes are in the media store, and when a pending
-- fetch is tried next (a row, not a goroutine: it survives restarts and
-- runs once with several replicas).

-- +goose Up
CREATE TABLE `attachments` (`id` integer PRIMARY KEY AUTOINCREMENT,`message_id` integer NOT NULL,`position` integer NOT NULL DEFAULT 0,`connector` text NOT NULL DEFAULT '',`type` text NOT NULL DEFAULT '',`name` text NOT NULL DEFAULT '',`content_type` text NOT NULL DEFAULT '',`size` integer NOT NULL DEFAULT 0,`state` text NOT NULL,`error` text NOT NULL DEFAULT '',`blob_key` text NOT NULL DEFAULT '',`thumbnail_key` text NOT NULL DEFAULT '',`transcript` text NOT NULL DEFAULT '',`source` text NOT NULL DEFAULT '',`attempts` integer NOT NULL DEFAULT 0,`next_try` datetime,`created_at` datetime NOT NULL,`stored_at` datetime,CONSTRAINT `fk_attachments_message` FOREIGN KEY (`message_id`) REFERENCES `messages`(`id`));
CREATE UNIQUE INDEX `idx_attachments_message` ON `attachments`(`message_id`,`position`);
CREATE INDEX `idx_attachments_due` ON `attachments`(`next_try`) WHERE state = 'pending';
CREATE INDEX `idx_attachments_stored_at` ON `attachments`(`stored_at`) WHERE state = 'stored';

-- +goose Down
DROP TABLE `attachments`;
