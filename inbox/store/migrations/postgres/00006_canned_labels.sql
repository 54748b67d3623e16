-- Agent helpers: canned responses (admins write them, agents send them by
-- id) and labels on conversations. A label is a row, so the list filter
-- label= reads the index on (label, conversation_id).

-- +goose Up
CREATE TABLE canned_responses (
    id bigserial PRIMARY KEY,
    shortcut varchar(50) NOT NULL,
    text text NOT NULL,
    created_by varchar(200),
    updated_by varchar(200),
    created_at timestamptz,
    updated_at timestamptz
);
CREATE UNIQUE INDEX idx_canned_responses_shortcut ON canned_responses (shortcut);
CREATE TABLE conversation_labels (
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    label varchar(50) NOT NULL,
    created_at timestamptz,
    PRIMARY KEY (conversation_id, label)
);
CREATE INDEX idx_conversation_labels_label ON conversation_labels (label, conversation_id);

-- +goose Down
DROP TABLE conversation_labels;
DROP TABLE canned_responses;
