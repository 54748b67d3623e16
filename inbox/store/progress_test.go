package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tongdao/hub/inbox/store"
	"github.com/tongdao/hub/internal/testclock"
	"github.com/tongdao/hub/models"
)

// conversation.updated events carry, for the reactions, who changed the
// conversation and its state before and after; their data stays as it was.
// A contact's last conversation other than a given one.
func TestConversationChangeDetailAndLastConversation(t *testing.T) {
	eachDriver(t, func(t *testing.T, s *store.Store, c *testclock.Clock) {
		ctx := context.Background()
		conv := ingest(t, s, inbound("1", "1:1", "help"))[0].ConversationID
		if _, err := s.UpdateConversationByAgent(ctx, conv, map[string]any{"assignee": " Ana ", "team": "billing"}, "ana-token"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateConversation(ctx, conv, map[string]any{"status": models.StatusPending}, "Bot"); err != nil {
			t.Fatal(err)
		}
		var evs []models.Event
		if err := s.DB.Where("type = ?", models.EventTypeConversationUpdated).Order("id").Find(&evs).Error; err != nil || len(evs) != 2 {
			t.Fatalf("events: %d %v", len(evs), err)
		}
		var agent, bot models.ConversationChange
		if err := json.Unmarshal([]byte(evs[0].Detail), &agent); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(evs[1].Detail), &bot); err != nil {
			t.Fatal(err)
		}
		want := models.ConversationChange{By: "ana-token", ByType: "agent",
			Before: models.ConversationState{Status: "open", Priority: "normal"},
			After:  models.ConversationState{Status: "open", Assignee: " Ana ", Team: "billing", Priority: "normal"}}
		if agent != want {
			t.Fatalf("the agent's change: %+v, want %+v", agent, want)
		}
		if bot.ByType != "" || bot.By != "Bot" || bot.Before.Assignee != " Ana " || bot.After.Status != "pending" {
			t.Fatalf("the bot's change: %+v", bot)
		}
		var data map[string]any
		if err := json.Unmarshal([]byte(evs[0].Data), &data); err != nil || data["by"] != "ana-token" || data["changes"].(map[string]any)["team"] != "billing" {
			t.Fatalf("the event's data: %v %v", data, err)
		}
		// Reactions get a conversation.updated event's data (its changes)
		// beside its detail; a message.created event's detail replaces its
		// data.
		revs, err := s.ReactionEvents(ctx, 0, evs[1].ID, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range revs {
			switch ev.Type {
			case models.EventTypeConversationUpdated:
				if ev.Detail == "" || !strings.Contains(ev.Data, `"changes"`) {
					t.Fatalf("a conversation.updated event for reactions: data %q, detail %q", ev.Data, ev.Detail)
				}
			case models.EventTypeMessageCreated:
				if ev.Detail == "" || ev.Data != "" {
					t.Fatalf("a message.created event for reactions: data %q, detail %q", ev.Data, ev.Detail)
				}
			}
		}
		if _, err := s.UpdateConversationByAgent(ctx, 999999, map[string]any{"status": "open"}, "ana"); models.ErrorCode(err) != models.ENOTFOUND {
			t.Fatalf("a missing conversation: %v", err)
		}

		if last, err := s.LastConversation(ctx, 1, conv); err != nil || last != nil {
			t.Fatalf("no other conversation: %+v %v", last, err)
		}
		contact, err := s.Conversation(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateConversation(ctx, conv, map[string]any{"status": models.StatusResolved}, "ana"); err != nil {
			t.Fatal(err)
		}
		next := ingest(t, s, inbound("1", "1:2", "again"))[0].ConversationID
		if last, err := s.LastConversation(ctx, contact.ContactID, next); err != nil || last == nil || last.ID != conv || last.Status != models.StatusResolved {
			t.Fatalf("the last conversation before %d: %+v %v", next, last, err)
		}
	})
}
