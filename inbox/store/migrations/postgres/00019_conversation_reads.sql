-- Read marks of the agent console: per agent and conversation, when the
-- agent last had it open. A conversation is unread for an agent when the
-- customer wrote after the mark.

-- +goose Up
CREATE TABLE conversation_reads (
    agent varchar(200) NOT NULL,
    conversation_id bigint NOT NULL,
    read_at timestamptz NOT NULL,
    PRIMARY KEY (agent, conversation_id)
);
CREATE INDEX idx_conversation_reads_agent_read_at ON conversation_reads (agent, read_at);

-- +goose Down
DROP TABLE conversation_reads;
