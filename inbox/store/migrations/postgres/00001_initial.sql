-- Version 1: the schema as the hub created it before versioned migrations
-- (gorm AutoMigrate of the models plus idx_conv_active). A database created
-- by that code is adopted as version 1 without running this file.

-- +goose Up
CREATE TABLE contacts (
    id bigserial PRIMARY KEY,
    name varchar(200),
    phone varchar(40),
    created_at timestamptz,
    updated_at timestamptz
);
CREATE INDEX idx_contacts_phone ON contacts (phone);

CREATE TABLE identities (
    id bigserial PRIMARY KEY,
    contact_id bigint NOT NULL,
    channel varchar(20) NOT NULL,
    connector varchar(100) NOT NULL,
    external_id varchar(200) NOT NULL,
    reply_to varchar(200),
    display_name varchar(200),
    username varchar(200),
    language varchar(20),
    union_id varchar(200),
    phone varchar(40),
    last_inbound_at timestamptz,
    unreachable_reason varchar(300),
    created_at timestamptz,
    updated_at timestamptz
);
CREATE INDEX idx_identities_contact_id ON identities (contact_id);
CREATE INDEX idx_identities_union_id ON identities (union_id);
CREATE UNIQUE INDEX idx_identity_external ON identities (connector, external_id);

CREATE TABLE conversations (
    id bigserial PRIMARY KEY,
    contact_id bigint NOT NULL,
    status varchar(20) NOT NULL,
    priority varchar(20) NOT NULL DEFAULT 'normal',
    assignee varchar(200),
    team varchar(200),
    subject varchar(500),
    last_message_at timestamptz,
    created_at timestamptz,
    updated_at timestamptz,
    resolved_at timestamptz
);
CREATE INDEX idx_conversations_contact_id ON conversations (contact_id);
CREATE INDEX idx_conversations_status ON conversations (status);
CREATE INDEX idx_conversations_assignee ON conversations (assignee);
CREATE INDEX idx_conversations_team ON conversations (team);
CREATE INDEX idx_conversations_last_message_at ON conversations (last_message_at);
-- At most one conversation per contact that is not resolved.
CREATE UNIQUE INDEX idx_conv_active ON conversations (contact_id) WHERE status <> 'resolved';

CREATE TABLE messages (
    id bigserial PRIMARY KEY,
    conversation_id bigint NOT NULL,
    identity_id bigint,
    channel varchar(20),
    connector varchar(100),
    external_id varchar(200),
    direction varchar(3) NOT NULL,
    kind varchar(20) NOT NULL DEFAULT 'message',
    sender_type varchar(20) NOT NULL,
    sender_id varchar(200),
    sender_name varchar(200),
    text text,
    private boolean,
    attachments text,
    buttons text,
    delivery_status varchar(20) NOT NULL,
    delivery_error varchar(500),
    attempts bigint,
    next_attempt_at timestamptz,
    platform_id varchar(200),
    created_at timestamptz,
    sent_at timestamptz
);
CREATE INDEX idx_messages_conversation_id ON messages (conversation_id);
CREATE UNIQUE INDEX idx_msg_external ON messages (connector, external_id);
CREATE INDEX idx_msg_queued ON messages (delivery_status) WHERE delivery_status = 'queued';
CREATE INDEX idx_msg_queued_identity ON messages (identity_id) WHERE delivery_status = 'queued';

CREATE TABLE events (
    id bigserial PRIMARY KEY,
    type varchar(50) NOT NULL,
    conversation_id bigint,
    data text,
    created_at timestamptz
);

CREATE TABLE api_tokens (
    id bigserial PRIMARY KEY,
    name varchar(200) NOT NULL,
    role varchar(20) NOT NULL,
    hash varchar(64) NOT NULL,
    created_at timestamptz,
    last_used_at timestamptz
);
CREATE UNIQUE INDEX idx_api_tokens_hash ON api_tokens (hash);

CREATE TABLE kv (
    key varchar(200) PRIMARY KEY,
    value text,
    expires_at timestamptz
);

CREATE TABLE link_codes (
    id bigserial PRIMARY KEY,
    identity_id bigint NOT NULL,
    contact_id bigint NOT NULL,
    code_hash varchar(64) NOT NULL,
    token_hash varchar(64) NOT NULL,
    expires_at timestamptz,
    used_at timestamptz,
    used_by bigint,
    created_at timestamptz
);
CREATE INDEX idx_link_codes_identity_id ON link_codes (identity_id);
CREATE UNIQUE INDEX idx_link_codes_code_hash ON link_codes (code_hash);
CREATE UNIQUE INDEX idx_link_codes_token_hash ON link_codes (token_hash);

CREATE TABLE link_failures (
    id bigserial PRIMARY KEY,
    identity_id bigint NOT NULL,
    created_at timestamptz
);
CREATE INDEX idx_link_failure ON link_failures (identity_id, created_at);

CREATE TABLE merges (
    id bigserial PRIMARY KEY,
    target_contact_id bigint NOT NULL,
    source_contact_id bigint NOT NULL,
    method varchar(20) NOT NULL,
    actor varchar(200),
    identity_id bigint,
    snapshot text,
    created_at timestamptz,
    undone_at timestamptz,
    undone_by varchar(200)
);
CREATE INDEX idx_merges_target_contact_id ON merges (target_contact_id);
CREATE INDEX idx_merges_source_contact_id ON merges (source_contact_id);
