-- Agent helpers: canned responses (admins write them, agents send them by
-- id) and labels on conversations. A label is a row, so the list filter
-- label= reads the index on (label, conversation_id).

-- +goose Up
CREATE TABLE `canned_responses` (`id` integer PRIMARY KEY AUTOINCREMENT,`shortcut` text NOT NULL,`text` text NOT NULL,`created_by` text,`updated_by` text,`created_at` datetime,`updated_at` datetime);
CREATE UNIQUE INDEX `idx_canned_responses_shortcut` ON `canned_responses`(`shortcut`);
CREATE TABLE `conversation_labels` (`conversation_id` integer NOT NULL REFERENCES `conversations`(`id`) ON DELETE CASCADE,`label` text NOT NULL,`created_at` datetime,PRIMARY KEY (`conversation_id`,`label`));
CREATE INDEX `idx_conversation_labels_label` ON `conversation_labels`(`label`,`conversation_id`);

-- +goose Down
DROP TABLE `conversation_labels`;
DROP TABLE `canned_responses`;
