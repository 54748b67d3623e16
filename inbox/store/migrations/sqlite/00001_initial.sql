-- Version 1: the schema as the hub created it before versioned migrations
-- (gorm AutoMigrate of the models plus idx_conv_active). A database created
-- by that code is adopted as version 1 without running this file.

-- +goose Up
CREATE TABLE `api_tokens` (`id` integer PRIMARY KEY AUTOINCREMENT,`name` text NOT NULL,`role` text NOT NULL,`hash` text NOT NULL,`created_at` datetime,`last_used_at` datetime);
CREATE TABLE `contacts` (`id` integer PRIMARY KEY AUTOINCREMENT,`name` text,`phone` text,`created_at` datetime,`updated_at` datetime);
CREATE TABLE `conversations` (`id` integer PRIMARY KEY AUTOINCREMENT,`contact_id` integer NOT NULL,`status` text NOT NULL,`priority` text NOT NULL DEFAULT "normal",`assignee` text,`team` text,`subject` text,`last_message_at` datetime,`created_at` datetime,`updated_at` datetime,`resolved_at` datetime);
CREATE TABLE `events` (`id` integer PRIMARY KEY AUTOINCREMENT,`type` text NOT NULL,`conversation_id` integer,`data` text,`created_at` datetime);
CREATE TABLE `identities` (`id` integer PRIMARY KEY AUTOINCREMENT,`contact_id` integer NOT NULL,`channel` text NOT NULL,`connector` text NOT NULL,`external_id` text NOT NULL,`reply_to` text,`display_name` text,`username` text,`language` text,`union_id` text,`phone` text,`last_inbound_at` datetime,`unreachable_reason` text,`created_at` datetime,`updated_at` datetime);
CREATE TABLE `kv` (`key` text,`value` text,`expires_at` datetime,PRIMARY KEY (`key`));
CREATE TABLE `link_codes` (`id` integer PRIMARY KEY AUTOINCREMENT,`identity_id` integer NOT NULL,`contact_id` integer NOT NULL,`code_hash` text NOT NULL,`token_hash` text NOT NULL,`expires_at` datetime,`used_at` datetime,`used_by` integer,`created_at` datetime);
CREATE TABLE `link_failures` (`id` integer PRIMARY KEY AUTOINCREMENT,`identity_id` integer NOT NULL,`created_at` datetime);
CREATE TABLE `merges` (`id` integer PRIMARY KEY AUTOINCREMENT,`target_contact_id` integer NOT NULL,`source_contact_id` integer NOT NULL,`method` text NOT NULL,`actor` text,`identity_id` integer,`snapshot` text,`created_at` datetime,`undone_at` datetime,`undone_by` text);
CREATE TABLE `messages` (`id` integer PRIMARY KEY AUTOINCREMENT,`conversation_id` integer NOT NULL,`identity_id` integer,`channel` text,`connector` text,`external_id` text,`direction` text NOT NULL,`kind` text NOT NULL DEFAULT "message",`sender_type` text NOT NULL,`sender_id` text,`sender_name` text,`text` text,`private` numeric,`attachments` text,`buttons` text,`delivery_status` text NOT NULL,`delivery_error` text,`attempts` integer,`next_attempt_at` datetime,`platform_id` text,`created_at` datetime,`sent_at` datetime);
CREATE UNIQUE INDEX `idx_api_tokens_hash` ON `api_tokens`(`hash`);
CREATE INDEX `idx_contacts_phone` ON `contacts`(`phone`);
CREATE UNIQUE INDEX idx_conv_active ON conversations(contact_id) WHERE status <> 'resolved';
CREATE INDEX `idx_conversations_assignee` ON `conversations`(`assignee`);
CREATE INDEX `idx_conversations_contact_id` ON `conversations`(`contact_id`);
CREATE INDEX `idx_conversations_last_message_at` ON `conversations`(`last_message_at`);
CREATE INDEX `idx_conversations_status` ON `conversations`(`status`);
CREATE INDEX `idx_conversations_team` ON `conversations`(`team`);
CREATE INDEX `idx_identities_contact_id` ON `identities`(`contact_id`);
CREATE INDEX `idx_identities_union_id` ON `identities`(`union_id`);
CREATE UNIQUE INDEX `idx_identity_external` ON `identities`(`connector`,`external_id`);
CREATE UNIQUE INDEX `idx_link_codes_code_hash` ON `link_codes`(`code_hash`);
CREATE INDEX `idx_link_codes_identity_id` ON `link_codes`(`identity_id`);
CREATE UNIQUE INDEX `idx_link_codes_token_hash` ON `link_codes`(`token_hash`);
CREATE INDEX `idx_link_failure` ON `link_failures`(`identity_id`,`created_at`);
CREATE INDEX `idx_merges_source_contact_id` ON `merges`(`source_contact_id`);
CREATE INDEX `idx_merges_target_contact_id` ON `merges`(`target_contact_id`);
CREATE INDEX `idx_messages_conversation_id` ON `messages`(`conversation_id`);
CREATE UNIQUE INDEX `idx_msg_external` ON `messages`(`connector`,`external_id`);
CREATE INDEX `idx_msg_queued` ON `messages`(`delivery_status`) WHERE delivery_status = 'queued';
CREATE INDEX `idx_msg_queued_identity` ON `messages`(`identity_id`) WHERE delivery_status = 'queued';

