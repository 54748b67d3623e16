-- Inbounds that cannot be stored for a reason in the data itself, recorded
-- so that the connector can acknowledge them and move on.

-- +goose Up
CREATE TABLE `skipped_inbounds` (`id` integer PRIMARY KEY AUTOINCREMENT,`connector` text NOT NULL,`external_id` text NOT NULL,`reason` text NOT NULL,`created_at` datetime NOT NULL);

-- +goose Down
DROP TABLE `skipped_inbounds`;
