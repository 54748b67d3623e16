package inbox

import (
	"testing"
	"time"

	"github.com/tongdao/hub/inbox/texts"
	"github.com/tongdao/hub/models"
)

func TestIsStatusRequest(t *testing.T) {
	for _, tc := range []struct {
		in   models.Inbound
		want bool
	}{
		{models.Inbound{Kind: models.KindMessage, Command: "status", Text: "/status"}, true},
		{models.Inbound{Kind: models.KindMessage, Command: "STATUS", Text: "/STATUS@tongdao_bot"}, true},
		{models.Inbound{Kind: models.KindMessage, Text: "/status"}, true}, // WeChat: no commands
		{models.Inbound{Kind: models.KindMessage, Text: "  Status "}, true},
		{models.Inbound{Kind: models.KindMessage, Text: "进度"}, true},
		{models.Inbound{Kind: models.KindMessage, Text: "STATO"}, true},
		{models.Inbound{Kind: models.KindAction, Action: "status"}, true},
		{models.Inbound{Kind: models.KindMessage, Text: "what is the status of my order?"}, false},
		{models.Inbound{Kind: models.KindMessage, Command: "start", Text: "/start"}, false},
		{models.Inbound{Kind: models.KindMessage, Command: "start", Text: "status"}, false},
		{models.Inbound{Kind: models.KindEvent, Text: "status"}, false},
	} {
		if got := isStatusRequest(&tc.in); got != tc.want {
			t.Errorf("isStatusRequest(%+v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestProgressPushDecidesOnlyOnAnAgentsChanges(t *testing.T) {
	st := func(status, assignee string) models.ConversationState {
		return models.ConversationState{Status: status, Assignee: assignee}
	}
	for _, tc := range []struct {
		name          string
		by            string
		before, after models.ConversationState
		want          int
	}{
		{"assigned", "agent", st("open", ""), st("open", "Ana"), progressAssigned},
		{"reassigned", "agent", st("open", "Ana"), st("open", "Bo"), progressAssigned},
		{"unassigned", "agent", st("open", "Ana"), st("open", ""), progressNone},
		{"the same assignee", "agent", st("open", "Ana"), st("open", "Ana"), progressNone},
		{"assigned while resolved", "agent", st("resolved", ""), st("resolved", "Ana"), progressNone},
		{"pending", "agent", st("open", "Ana"), st("pending", "Ana"), progressPending},
		{"pending again", "agent", st("pending", "Ana"), st("pending", "Ana"), progressNone},
		{"assigned and pending at once", "agent", st("open", ""), st("pending", "Ana"), progressAssigned | progressPending},
		{"resolved", "agent", st("open", "Ana"), st("resolved", "Ana"), progressNone},
		{"the bot's pending", "", st("open", ""), st("pending", ""), progressNone},
		{"the bot's assignee", "", st("open", ""), st("open", "Ana"), progressNone},
	} {
		ch := models.ConversationChange{ByType: tc.by, Before: tc.before, After: tc.after}
		if got := progressPush(&ch); got != tc.want {
			t.Errorf("%s: progressPush = %b, want %b", tc.name, got, tc.want)
		}
	}
}

func TestProgressTextsInEveryLanguage(t *testing.T) {
	c, err := texts.New("en", map[string]map[string]string{"it": {texts.PushAssigned: "Ci pensa {agent} (#{ticket})."}})
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{texts: c}
	for _, tc := range []struct {
		lang  string
		push  int
		agent string
		want  string
	}{
		{"en", progressAssigned, "Ana", "Ana is on it (ticket #5)."},
		{"zh", progressAssigned, "Ana", "Ana 正在处理您的工单 #5。"},
		{"it", progressAssigned, "Ana", "Ci pensa Ana (#5)."}, // overridden in config
		{"en", progressPending, "Ana", "Ana is waiting for your answer on ticket #5: just reply here."},
		{"en", progressPending, "", "Our agent is waiting for your answer on ticket #5: just reply here."},
		{"zh", progressPending, "", "客服正在等待您的回复（工单 #5），请直接在这里回复。"},
		{"it", progressPending, "Ana", "Ana aspetta una tua risposta sul ticket #5: rispondi pure qui."},
		{"en", progressAssigned | progressPending, "Ana", "Ana is on it (ticket #5). Ana is waiting for your answer on ticket #5: just reply here."},
		{"zh", progressAssigned | progressPending, "李", "李 正在处理您的工单 #5。李 正在等待您的回复（工单 #5），请直接在这里回复。"},
	} {
		if got := s.progressText(tc.lang, 5, tc.push, tc.agent); got != tc.want {
			t.Errorf("%s %b: %q, want %q", tc.lang, tc.push, got, tc.want)
		}
	}
}

func TestStatusTextsSayWhoHandlesIt(t *testing.T) {
	c, err := texts.New("en", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{texts: c}
	at := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		lang    string
		conv    models.Conversation
		replied bool
		want    string
	}{
		{"en", models.Conversation{Assignee: "Ana", Team: "billing"}, true, "Ana (billing team) is handling it"},
		{"en", models.Conversation{Assignee: "Ana"}, false, "Ana is handling it"},
		{"it", models.Conversation{Team: "billing"}, false, "se ne occupa il team billing"},
		{"en", models.Conversation{HandoffAt: &at}, true, "an agent is handling it"},
		{"zh", models.Conversation{HandoffAt: &at}, false, "正在等待客服接手"},
		{"en", models.Conversation{}, false, "our bot is answering you, and a human agent is one tap away"},
		{"it", models.Conversation{}, false, "ti sta rispondendo il nostro bot, e un operatore è a un tocco di distanza"},
	} {
		if got := s.whoHandles(tc.lang, &tc.conv, tc.replied); got != tc.want {
			t.Errorf("%s %+v: %q, want %q", tc.lang, tc.conv, got, tc.want)
		}
	}
}
