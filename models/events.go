package models

// Types of the event log (Event.Type): what API clients see on the event
// stream and what reactions follow. Names are part of the API contract.
const (
	EventTypeMessageCreated      = "message.created"
	EventTypeMessageUpdated      = "message.updated"
	EventTypeConversationCreated = "conversation.created"
	EventTypeConversationUpdated = "conversation.updated"
	EventTypeContactUpdated      = "contact.updated"
	// EventTypeConversationHandoff announces that a conversation entered
	// the human queue (the customer asked for a human, or the bot could
	// not answer).
	EventTypeConversationHandoff = "conversation.handoff"
	// SLA clocks: a clock reached 80% of its business time (sla.warning),
	// or its end (sla.breached: the priority went up one step and the
	// conversation was reassigned to the policy's escalate_to).
	EventTypeSLAWarning  = "sla.warning"
	EventTypeSLABreached = "sla.breached"
	// EventTypeInboundSkipped announces an inbound that could not be stored
	// (a data error), so the connector moved on.
	EventTypeInboundSkipped = "inbound.skipped"

	// Linking, merging and unlinking: the audit trail (who, when, how) in
	// the same log the console follows.
	EventTypeLinkOffered      = "link.offered"
	EventTypeLinkFailed       = "link.failed"
	EventTypeContactMerged    = "contact.merged"
	EventTypeMergeUndone      = "contact.merge_undone"
	EventTypeIdentityUnlinked = "identity.unlinked"

	// The customer's rating after an agent resolved their conversation
	// (data: {"id", "score", "at"}); csat.low follows csat.received for a
	// score of 2 or less, for review.
	EventTypeCSATReceived = "csat.received"
	EventTypeCSATLow      = "csat.low"

	// The hub's own configuration (no conversation): a reload applied
	// (data: ReloadView) or refused (data: {"problems": [...]}).
	EventTypeConfigReloaded = "config.reloaded"
	EventTypeConfigRejected = "config.rejected"

	// Agents: an agent's effective presence changed (data:
	// AgentPresenceView).
	EventTypeAgentPresence = "agent.presence"

	// Assignment: a conversation was given to an agent, by automatic
	// assignment ("assign") or by someone (data: AssignedView); a
	// conversation waits in its team's queue (data: QueuedView).
	EventTypeConversationAssigned = "conversation.assigned"
	EventTypeConversationQueued   = "conversation.queued"
)

// AssignedView is the data of conversation.assigned.
type AssignedView struct {
	ID       string `json:"id"`
	Assignee string `json:"assignee"`
	Team     string `json:"team,omitempty"`
	// By is "assign" for automatic assignment, else the name of who
	// assigned (an agent, or "sla" for an escalation).
	By string `json:"by"`
}

// QueuedView is the data of conversation.queued.
type QueuedView struct {
	ID   string `json:"id"`
	Team string `json:"team"`
	// Position is the conversation's place in the team's queue (1: next).
	Position int `json:"position"`
}

// ConversationChange is what a conversation.updated event tells the
// reactions (Event.Detail; reactions read an event's detail instead of its
// data when it has one): who made the change, and the conversation's
// status, assignee and team before and after it. Events written before it
// existed have no detail.
type ConversationChange struct {
	// By is the actor's name, as in the event's data.
	By string `json:"by"`
	// ByType is "agent" for a change an agent or admin made through the
	// API, and empty for the hub's own (the bot, a rule).
	ByType string            `json:"by_type,omitempty"`
	Before ConversationState `json:"before"`
	After  ConversationState `json:"after"`
}

// ConversationState is the part of a conversation a change is compared on.
type ConversationState struct {
	Status   string `json:"status"`
	Assignee string `json:"assignee"`
	Team     string `json:"team"`
	Priority string `json:"priority,omitempty"`
}
