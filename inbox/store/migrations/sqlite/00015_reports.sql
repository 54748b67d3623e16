-- Reports: the conversations a time range touches (created or resolved
-- in it), the status changes of each, and the ratings and SLA
-- breaches of a range, read from small indexes. Queries spell the partial
-- indexes' predicates the same way, with literals.

-- +goose Up
CREATE INDEX idx_conversations_created_at ON conversations (created_at);
CREATE INDEX idx_conversations_resolved_at ON conversations (resolved_at);
CREATE INDEX idx_events_status_changes ON events (conversation_id, id) WHERE type = 'conversation.updated';
CREATE INDEX idx_events_report_facts ON events (type, created_at) WHERE type IN ('csat.received', 'sla.breached');

-- +goose Down
DROP INDEX idx_events_report_facts;
DROP INDEX idx_events_status_changes;
DROP INDEX idx_conversations_resolved_at;
DROP INDEX idx_conversations_created_at;
