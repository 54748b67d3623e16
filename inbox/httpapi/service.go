package httpapi

import (
	"context"

	"github.com/tongdao/hub/models"
)

// Inbox is what the HTTP API needs of the inbox service (inbox.Service
// implements it). Errors are *models.Error with a code; anything else is
// internal.
type Inbox interface {
	// Authenticate resolves a bearer token (plain text) to its actor, or
	// returns an EUNAUTHORIZED error.
	Authenticate(ctx context.Context, token string) (models.Actor, error)

	ListConversations(ctx context.Context, f models.ConversationFilter) (items []models.ConversationView, nextCursor string, err error)
	GetConversation(ctx context.Context, id int64) (models.ConversationView, error)
	// CountViews counts the conversations of each work queue (models.Views)
	// for the agent named me.
	CountViews(ctx context.Context, me string) (models.ViewsView, error)
	// ListMessages returns a conversation's timeline oldest first, keyset
	// paginated by cursor.
	ListMessages(ctx context.Context, conversationID int64, cursor string, limit int) (items []models.MessageView, nextCursor string, err error)
	// Reply stores an agent reply as queued (or a private note) and returns it.
	Reply(ctx context.Context, req models.ReplyRequest) (models.MessageView, error)
	SetStatus(ctx context.Context, conversationID int64, status string, by models.Actor) (models.ConversationView, error)
	// Assign sets assignee and/or team; nil leaves a field unchanged, "" clears it.
	Assign(ctx context.Context, conversationID int64, assignee, team *string, by models.Actor) (models.ConversationView, error)
	GetContact(ctx context.Context, id int64) (models.ContactView, error)
	// MergeContacts moves everything of contact from into contact into and
	// records the merge so that UndoMerge can restore it exactly.
	MergeContacts(ctx context.Context, into, from int64, by models.Actor) (models.MergeView, error)
	// UndoMerge restores the state before a merge (conflict when undone
	// already or when its identities moved since).
	UndoMerge(ctx context.Context, mergeID int64, by models.Actor) (models.MergeView, error)
	// UnlinkIdentity makes an identity its own contact again and returns
	// that contact.
	UnlinkIdentity(ctx context.Context, identityID int64, by models.Actor) (models.ContactView, error)
	// Suggestions lists other contacts sharing a verified phone number or a
	// WeChat UnionID with the contact; they are never merged automatically.
	Suggestions(ctx context.Context, contactID int64) ([]models.SuggestionView, error)

	// ListCanned lists canned responses by shortcut; q (may be "")
	// searches shortcuts and texts, ignoring case.
	ListCanned(ctx context.Context, q string) ([]models.CannedView, error)
	// CreateCanned, UpdateCanned and DeleteCanned write canned responses
	// (admins); a shortcut in use is a conflict.
	CreateCanned(ctx context.Context, in models.CannedInput, by models.Actor) (models.CannedView, error)
	UpdateCanned(ctx context.Context, id int64, in models.CannedInput, by models.Actor) (models.CannedView, error)
	DeleteCanned(ctx context.Context, id int64, by models.Actor) error
	// UpdateLabels removes and adds labels on a conversation and returns it.
	UpdateLabels(ctx context.Context, conversationID int64, add, remove []string, by models.Actor) (models.ConversationView, error)

	// EventsAfter returns up to limit events with id > after, oldest first.
	EventsAfter(ctx context.Context, after int64, limit int) ([]models.EventView, error)
	// LatestEventID returns the id of the newest event in the log, or 0 when
	// the log is empty. A client that connects without Last-Event-ID is sent
	// only the events committed after this id.
	LatestEventID(ctx context.Context) (int64, error)
	// EventsNotify returns a channel that is closed when an event newer than
	// those seen so far is committed; call it again after each wake-up.
	EventsNotify() <-chan struct{}

	// Agents, tokens and presence.
	// IssueToken creates an API token and returns it with its secret, once.
	IssueToken(ctx context.Context, name, role string, by models.Actor) (models.NewTokenView, error)
	// ListTokens lists the API tokens, never their secrets.
	ListTokens(ctx context.Context) ([]models.TokenView, error)
	// RevokeToken deletes a token: its next request is refused.
	RevokeToken(ctx context.Context, id int64, by models.Actor) (models.TokenView, error)
	// ListAgents lists the agents with teams, presence, load and capacity.
	ListAgents(ctx context.Context) ([]models.AgentView, error)

	// ReportSummary computes the summary report of a range, team and
	// channel (README, Reports).
	ReportSummary(ctx context.Context, f models.ReportFilter) (models.ReportSummary, error)
	// Me describes the caller as an agent.
	Me(ctx context.Context, by models.Actor) (models.AgentView, error)
	// SetPresence records what the caller says of their presence (online,
	// away, offline) and returns them.
	SetPresence(ctx context.Context, status string, by models.Actor) (models.AgentView, error)
	// StreamStarted records a live event stream of the caller, which counts
	// for their presence until ctx ends (and a while after).
	StreamStarted(ctx context.Context, by models.Actor) error

	// MarkRead records that the caller has the conversation open now (the
	// console's unread state); ReadMarks lists the caller's newest marks.
	MarkRead(ctx context.Context, id int64, by models.Actor) (models.ReadMarkView, error)
	ReadMarks(ctx context.Context, by models.Actor) ([]models.ReadMarkView, error)

	// Ready reports whether the database answers.
	Ready(ctx context.Context) error
}

// ConnectorStates reports connectors' states for /readyz.
type ConnectorStates interface {
	States() []models.ConnectorState
}
