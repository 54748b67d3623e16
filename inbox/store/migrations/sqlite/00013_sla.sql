-- Service-level clocks: one row per conversation and kind (first_response,
-- next_response, resolution), so timers survive restarts and fire once
-- whichever replica runs them.

-- +goose Up
CREATE TABLE `sla_clocks` (`conversation_id` integer NOT NULL,`kind` text NOT NULL,`started_at` datetime NOT NULL,`warn_at` datetime NOT NULL,`due_at` datetime NOT NULL,`warned` numeric NOT NULL DEFAULT false,`breached_at` datetime,`breaches` integer NOT NULL DEFAULT 0,`stopped_at` datetime,PRIMARY KEY (`conversation_id`,`kind`),CONSTRAINT `fk_sla_clocks_conversation` FOREIGN KEY (`conversation_id`) REFERENCES `conversations`(`id`));
CREATE INDEX `idx_sla_clocks_running` ON `sla_clocks`(`warn_at`) WHERE stopped_at IS NULL;

-- +goose Down
DROP TABLE `sla_clocks`;
