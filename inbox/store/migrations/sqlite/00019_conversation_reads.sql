-- Read marks of the agent console: per agent and conversation, when the
-- agent last had it open. A conversation is unread for an agent when the
-- customer wrote after the mark.

-- +goose Up
CREATE TABLE `conversation_reads` (`agent` text NOT NULL,`conversation_id` integer NOT NULL,`read_at` datetime NOT NULL,PRIMARY KEY (`agent`,`conversation_id`));
CREATE INDEX `idx_conversation_reads_agent_read_at` ON `conversation_reads`(`agent`,`read_at`);

-- +goose Down
DROP INDEX `idx_conversation_reads_agent_read_at`;
DROP TABLE `conversation_reads`;
